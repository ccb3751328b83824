"""A project that is unusual but entirely legal, for a second run of the suite.

Its user model (``hostile.Member``) has a UUID primary key, its ``groups`` and
``user_permissions`` go through explicit models, its default manager is a
custom one that hides removed members, and it logs in through a backend that
overrides ``get_user()`` and ``user_can_authenticate()``, beside a sync-only
object-permission backend. ``AUTH_USER_MODEL`` cannot change within a
process, so it is a pytest run of its own, under ``tests.hostile.settings``
(or ``tests.hostile.compat_settings`` for the DRF tests): see ``tox.ini``.

What the settings modules change, once for both.
"""

AUTH_USER_MODEL = "hostile.Member"
#: The login backend first (``force_login()`` takes it).
AUTHENTICATION_BACKENDS = [
    "tests.backends.SuspendingBackend",
    "tests.backends.OwnerBackend",
]


def installed_apps(apps: list[str]) -> list[str]:
    """``apps`` with this project's app, without ``tests.kin`` (kin of the stock
    ``User``, which this project swaps out)."""
    return [app for app in apps if app != "tests.kin"] + ["tests.hostile"]
