"""Names 0.1 published keep working for one release, with a warning naming the new one."""

from __future__ import annotations

from django.test import SimpleTestCase

from async_auth_views import rules
from async_auth_views.deprecation import RemovedInAsyncAuthViews02Warning

RENAMED = {
    "Refusal": "Denial",
    "refusal_for": "denial_for",
    "login": "login_rule",
    "permissions": "permission_rule",
    "passes_test": "test_rule",
    "groups": "group_rule",
    "superuser": "superuser_rule",
    "staffuser": "staff_rule",
    "recent_login": "recent_login_rule",
    "anonymous": "anonymous_rule",
}


class RenamedRulesTests(SimpleTestCase):
    def test_each_old_name_is_the_new_object_and_warns(self) -> None:
        for old, new in RENAMED.items():
            with self.subTest(old=old):
                message = f"async_auth_views.rules.{old} is deprecated: use async_auth_views.rules.{new}."
                with self.assertWarnsMessage(RemovedInAsyncAuthViews02Warning, message):
                    value = getattr(rules, old)
                self.assertIs(value, getattr(rules, new))

    def test_from_import_of_an_old_name_warns(self) -> None:
        with self.assertWarns(RemovedInAsyncAuthViews02Warning):
            from async_auth_views.rules import login  # noqa: F401

    def test_an_unknown_name_is_an_attribute_error(self) -> None:
        with self.assertRaisesMessage(AttributeError, "has no attribute 'nope'"):
            rules.nope  # noqa: B018
        self.assertFalse(hasattr(rules, "answer"))
