"""Tests for ``async_auth_views.checks``: the system checks on MIDDLEWARE and settings."""

from __future__ import annotations

from django.contrib.admin.checks import check_dependencies as admin_checks
from django.contrib.auth.checks import check_middleware as auth_checks
from django.contrib.sessions.middleware import SessionMiddleware
from django.core import checks
from django.test import SimpleTestCase, modify_settings, override_settings

from async_auth_views.checks import (
    check_backends,
    check_middleware,
    check_session_middleware,
    check_settings,
)
from async_auth_views.middleware import AuthenticationMiddleware
from async_auth_views.middleware import SessionMiddleware as OurSessionMiddleware

SESSION = "django.contrib.sessions.middleware.SessionMiddleware"
MESSAGES = "django.contrib.messages.middleware.MessageMiddleware"
OURS = "async_auth_views.middleware.AuthenticationMiddleware"
OURS_LOGIN_REQUIRED = "async_auth_views.middleware.LoginRequiredMiddleware"
DJANGO_AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"
DJANGO_LOGIN_REQUIRED = "django.contrib.auth.middleware.LoginRequiredMiddleware"
SUBCLASS_OF_OURS = f"{__name__}.ProjectAuthenticationMiddleware"
SUBCLASS_OF_SESSION = f"{__name__}.ProjectSessionMiddleware"
OURS_SESSION = "async_auth_views.middleware.SessionMiddleware"
SUBCLASS_OF_OURS_SESSION = f"{__name__}.ProjectOurSessionMiddleware"


class ProjectAuthenticationMiddleware(AuthenticationMiddleware):
    """A project's own subclass, which the checks must recognise."""


class ProjectSessionMiddleware(SessionMiddleware):
    pass


class ProjectOurSessionMiddleware(OurSessionMiddleware):
    pass


def ids(messages):
    return sorted(message.id for message in messages)


def our_ids():
    """The ids the registered checks report, through Django's check framework."""
    return sorted(
        message.id
        for message in checks.run_checks()
        if message.id.startswith("async_auth_views.")
    )


class MiddlewareCheckTests(SimpleTestCase):
    @override_settings(MIDDLEWARE=[SESSION, OURS, MESSAGES, OURS_LOGIN_REQUIRED])
    def test_clean_config(self):
        self.assertEqual(check_middleware(), [])
        self.assertEqual(check_settings(), [])
        self.assertEqual(our_ids(), [])

    @override_settings(MIDDLEWARE=[SESSION, DJANGO_AUTH])
    def test_without_our_middleware_nothing_to_check(self):
        self.assertEqual(check_middleware(), [])

    @override_settings(MIDDLEWARE=[SESSION, DJANGO_AUTH, OURS])
    def test_e001_both_authentication_middlewares(self):
        [error] = check_middleware()
        self.assertEqual(error.id, "async_auth_views.E001")
        self.assertIsInstance(error, checks.Error)
        self.assertIn(DJANGO_AUTH, error.msg)
        self.assertIn(OURS, error.msg)
        self.assertEqual(error.hint, f"Remove '{DJANGO_AUTH}': '{OURS}' replaces it.")
        self.assertEqual(our_ids(), ["async_auth_views.E001"])

    @override_settings(MIDDLEWARE=[SESSION, OURS, DJANGO_AUTH])
    def test_e001_in_either_order(self):
        self.assertEqual(ids(check_middleware()), ["async_auth_views.E001"])

    @override_settings(MIDDLEWARE=[OURS])
    def test_e002_session_middleware_missing(self):
        [error] = check_middleware()
        self.assertEqual(error.id, "async_auth_views.E002")
        self.assertEqual(
            error.msg, f"'{SESSION}' must be before '{OURS}' in MIDDLEWARE."
        )
        self.assertEqual(our_ids(), ["async_auth_views.E002"])

    @override_settings(MIDDLEWARE=[OURS, SESSION])
    def test_e002_session_middleware_after(self):
        self.assertEqual(ids(check_middleware()), ["async_auth_views.E002"])

    @override_settings(MIDDLEWARE=[SUBCLASS_OF_SESSION, SUBCLASS_OF_OURS])
    def test_subclasses_are_recognised(self):
        self.assertEqual(check_middleware(), [])
        with override_settings(MIDDLEWARE=[SUBCLASS_OF_OURS, SUBCLASS_OF_SESSION]):
            self.assertEqual(ids(check_middleware()), ["async_auth_views.E002"])

    @override_settings(MIDDLEWARE=[SESSION, OURS_LOGIN_REQUIRED, OURS])
    def test_e003_login_required_before_authentication(self):
        [error] = check_middleware()
        self.assertEqual(error.id, "async_auth_views.E003")
        self.assertEqual(
            error.msg, f"'{OURS_LOGIN_REQUIRED}' must be after '{OURS}' in MIDDLEWARE."
        )
        self.assertEqual(our_ids(), ["async_auth_views.E003"])

    @override_settings(MIDDLEWARE=[SESSION, OURS, DJANGO_LOGIN_REQUIRED])
    def test_w001_djangos_login_required_middleware(self):
        [warning] = check_middleware()
        self.assertEqual(warning.id, "async_auth_views.W001")
        self.assertIsInstance(warning, checks.Warning)
        self.assertIn(DJANGO_LOGIN_REQUIRED, warning.msg)
        self.assertEqual(warning.hint, f"Use '{OURS_LOGIN_REQUIRED}', which does not.")
        self.assertEqual(our_ids(), ["async_auth_views.W001"])

    @override_settings(MIDDLEWARE=[OURS_LOGIN_REQUIRED, DJANGO_AUTH, OURS])
    def test_several_errors_at_once(self):
        self.assertEqual(
            ids(check_middleware()),
            ["async_auth_views.E001", "async_auth_views.E002", "async_auth_views.E003"],
        )

    @override_settings(MIDDLEWARE=[SESSION, "not.a.real.Middleware", OURS])
    def test_unimportable_middleware_is_skipped(self):
        self.assertEqual(check_middleware(), [])


class SessionMiddlewareCheckTests(SimpleTestCase):
    @override_settings(MIDDLEWARE=[OURS_SESSION, OURS, MESSAGES, OURS_LOGIN_REQUIRED])
    def test_clean_config(self):
        self.assertEqual(check_session_middleware(), [])
        self.assertEqual(check_middleware(), [])
        self.assertEqual(our_ids(), [])

    @override_settings(MIDDLEWARE=[OURS_SESSION, DJANGO_AUTH])
    def test_with_djangos_authentication_middleware(self):
        self.assertEqual(our_ids(), [])

    @override_settings(MIDDLEWARE=[SESSION, OURS_SESSION, OURS])
    def test_e007_both_session_middlewares(self):
        [error] = check_session_middleware()
        self.assertEqual(error.id, "async_auth_views.E007")
        self.assertEqual(
            error.msg, f"MIDDLEWARE contains both '{SESSION}' and '{OURS_SESSION}'."
        )
        self.assertEqual(
            error.hint, f"Remove '{SESSION}': '{OURS_SESSION}' replaces it."
        )
        self.assertEqual(our_ids(), ["async_auth_views.E007"])

    @override_settings(MIDDLEWARE=[OURS_SESSION, SESSION])
    def test_e007_without_authentication_middleware(self):
        self.assertEqual(our_ids(), ["async_auth_views.E007"])

    @override_settings(MIDDLEWARE=[OURS, OURS_SESSION])
    def test_e008_ours_after_authentication(self):
        [error] = check_session_middleware()
        self.assertEqual(error.id, "async_auth_views.E008")
        self.assertEqual(
            error.msg, f"'{OURS_SESSION}' must be before '{OURS}' in MIDDLEWARE."
        )
        # Reported once, under its own name: not as E002 too.
        self.assertEqual(our_ids(), ["async_auth_views.E008"])

    @override_settings(MIDDLEWARE=[SUBCLASS_OF_OURS, SUBCLASS_OF_OURS_SESSION])
    def test_subclasses_are_recognised(self):
        self.assertEqual(our_ids(), ["async_auth_views.E008"])
        with override_settings(
            MIDDLEWARE=[SUBCLASS_OF_OURS_SESSION, SUBCLASS_OF_OURS, SESSION]
        ):
            self.assertEqual(our_ids(), ["async_auth_views.E007"])

    @modify_settings(INSTALLED_APPS={"append": "django.contrib.admin"})
    @override_settings(MIDDLEWARE=[OURS_SESSION, OURS, MESSAGES])
    def test_admin_e410_satisfied_by_ours(self):
        self.assertEqual(admin_checks(), [])
        with override_settings(MIDDLEWARE=[OURS, MESSAGES]):
            self.assertIn("admin.E410", ids(admin_checks()))


class DjangoChecksTests(SimpleTestCase):
    """Django's own checks look for a subclass of its AuthenticationMiddleware."""

    @override_settings(MIDDLEWARE=[SESSION, OURS, DJANGO_LOGIN_REQUIRED])
    def test_auth_e013_satisfied_by_ours(self):
        self.assertEqual(auth_checks(None), [])
        self.assertNotIn("auth.E013", ids(checks.run_checks()))

    @override_settings(MIDDLEWARE=[SESSION, OURS, OURS_LOGIN_REQUIRED])
    def test_auth_e013_satisfied_by_both_of_ours(self):
        self.assertEqual(auth_checks(None), [])

    @override_settings(MIDDLEWARE=[SESSION, DJANGO_LOGIN_REQUIRED, OURS])
    def test_auth_e013_still_raised_when_misordered(self):
        self.assertEqual(ids(auth_checks(None)), ["auth.E013"])

    @modify_settings(INSTALLED_APPS={"append": "django.contrib.admin"})
    @override_settings(MIDDLEWARE=[SESSION, OURS, MESSAGES])
    def test_admin_e408_satisfied_by_ours(self):
        self.assertEqual(admin_checks(), [])
        with override_settings(MIDDLEWARE=[SESSION, MESSAGES]):
            self.assertIn("admin.E408", ids(admin_checks()))


class SettingsCheckTests(SimpleTestCase):
    @override_settings(ASYNC_AUTH_LAZY_PATHS=[r"^/health/", r"^/static/"])
    def test_valid_lazy_paths(self):
        self.assertEqual(check_settings(), [])

    def test_lazy_paths_unset(self):
        self.assertEqual(check_settings(), [])

    @override_settings(ASYNC_AUTH_LAZY_PATHS=[r"^/health/", "("])
    def test_e004_invalid_regex(self):
        [error] = check_settings()
        self.assertEqual(error.id, "async_auth_views.E004")
        self.assertIn("ASYNC_AUTH_LAZY_PATHS contains '('", error.msg)
        self.assertEqual(our_ids(), ["async_auth_views.E004"])

    @override_settings(ASYNC_AUTH_LAZY_PATHS=r"^/health/")
    def test_e004_string_instead_of_list(self):
        [error] = check_settings()
        self.assertEqual(error.id, "async_auth_views.E004")
        self.assertEqual(
            error.msg,
            "ASYNC_AUTH_LAZY_PATHS must be a list of regular expressions, not "
            "str '^/health/'.",
        )

    @override_settings(ASYNC_AUTH_LAZY_PATHS=[42])
    def test_e004_not_a_pattern(self):
        self.assertEqual(ids(check_settings()), ["async_auth_views.E004"])

    @override_settings(ASYNC_AUTH_LAZY_PATHS=None)
    def test_e004_none(self):
        self.assertEqual(ids(check_settings()), ["async_auth_views.E004"])

    @override_settings(ASYNC_AUTH_LAZY_PATHS=[rb"^/health/"])
    def test_e004_bytes_pattern(self):
        self.assertEqual(ids(check_settings()), ["async_auth_views.E004"])

    @override_settings(ASYNC_AUTH_IDENTITY_CACHE="sessions")
    def test_e005_identity_cache_not_in_caches(self):
        [error] = check_settings()
        self.assertEqual(error.id, "async_auth_views.E005")
        self.assertEqual(
            error.msg,
            "ASYNC_AUTH_IDENTITY_CACHE is 'sessions', which is not an alias in "
            "CACHES (which has 'default').",
        )

    @override_settings(ASYNC_AUTH_IDENTITY_CACHE="default")
    def test_identity_cache_naming_a_cache_is_fine(self):
        self.assertEqual(check_settings(), [])

    @override_settings(ASYNC_AUTH_IDENTITY_CACHE_TIMEOUT="300")
    def test_e006_identity_cache_timeout_not_a_number(self):
        self.assertEqual(ids(check_settings()), ["async_auth_views.E006"])


class BackendCheckTests(SimpleTestCase):
    """E009: a backend's sync permission method is ``async def``."""

    @override_settings(
        AUTHENTICATION_BACKENDS=[
            "django.contrib.auth.backends.ModelBackend",
            "tests.test_permissions.AsyncOnlyBackend",
        ]
    )
    def test_e009_async_has_perm(self):
        errors = check_backends()
        self.assertEqual([e.id for e in errors], ["async_auth_views.E009"])
        self.assertIn(
            "tests.test_permissions.AsyncOnlyBackend.has_perm()", errors[0].msg
        )

    @override_settings(
        AUTHENTICATION_BACKENDS=[
            "django.contrib.auth.backends.ModelBackend",
            "guardian.backends.ObjectPermissionBackend",
            "no.such.Backend",
        ]
    )
    def test_sync_and_native_async_backends_pass(self):
        self.assertEqual(check_backends(), [])
