"""Tests for ``async_auth_views.permission_names``: a permission no model declares.

``permission_required = "books.chnage_book"`` refuses everyone but active
superusers, without a word. System check ``async_auth_views.W004`` names each
one it finds from what the installed models declare (the names ``migrate``
creates), on the views the URLconf routes to (mixins, the decorator, Django's
own mixin) and on consumers; at request time a refusal names the permissions
it required in the log, as a warning when no model declares one.
"""

from __future__ import annotations

import sys
from typing import Any

from django.contrib.auth.mixins import (
    PermissionRequiredMixin as DjangoPermissionRequiredMixin,
)
from django.contrib.auth.models import User
from django.core import checks
from django.db import models
from django.http import HttpResponse
from django.test import SimpleTestCase, TestCase, override_settings
from django.urls import include, path
from django.utils.decorators import method_decorator

from async_auth_views.decorators import login_required, permission_required
from async_auth_views.mixins import PermissionRequiredMixin
from async_auth_views.views import AsyncView

W004 = "async_auth_views.W004"


class Publication(models.Model):
    """A model that declares a permission of its own, and no "add" or "delete"."""

    class Meta:
        app_label = "tests"
        default_permissions = ("view", "change")
        permissions = (("publish_publication", "Can publish"),)


class Typo(PermissionRequiredMixin, AsyncView):
    permission_required = "auth.chnage_user"

    async def get(self, request: Any) -> HttpResponse:
        return HttpResponse("typo")


class OneOfTwo(PermissionRequiredMixin, AsyncView):
    permission_required = ("auth.change_user", "tests.add_publication")


class Declared(PermissionRequiredMixin, AsyncView):
    permission_required = (
        "auth.change_user",
        "tests.view_article",
        "tests.publish_publication",
        "kin.change_proxyuser",  # a proxy's permissions are its own app's
        "sessions.delete_session",
    )


class NoLabel(PermissionRequiredMixin, AsyncView):
    permission_required = "change_user"


class Nothing(PermissionRequiredMixin, AsyncView):
    permission_required = ()


class ByHook(PermissionRequiredMixin, AsyncView):
    """Names its permissions in a hook: nothing to check before a request."""

    def get_permission_required(self) -> list[str]:
        return ["auth.anything"]


class DjangosOwn(DjangoPermissionRequiredMixin, AsyncView):
    permission_required = "auth.view_usr"


@permission_required("tests.add_articel")
async def decorated(request: Any) -> HttpResponse:
    return HttpResponse("decorated")


@login_required
@permission_required("auth.add_user")
@permission_required("auth.delete_usr")
async def stacked(request: Any) -> HttpResponse:
    return HttpResponse("stacked")


@method_decorator(permission_required("auth.add_usr"), name="dispatch")
class MethodDecorated(AsyncView):
    async def get(self, request: Any) -> HttpResponse:
        return HttpResponse("method")


included = [path("typo/", Typo.as_view())]

urlpatterns = [
    path("nested/", include(included)),
    path("one-of-two/", OneOfTwo.as_view()),
    path("declared/", Declared.as_view()),
    path("no-label/", NoLabel.as_view()),
    path("nothing/", Nothing.as_view()),
    path("by-hook/", ByHook.as_view()),
    path("initkwargs/", Declared.as_view(permission_required="auth.add_usre")),
    path("djangos-own/", DjangosOwn.as_view()),
    path("decorated/", decorated),
    path("stacked/", stacked),
    path("method-decorated/", MethodDecorated.as_view()),
]


def warnings_by_view() -> dict[str, str]:
    """The W004 messages of the registered checks, by the view each names."""
    found = {}
    for message in checks.run_checks():
        if message.id == W004 and not message.is_silenced():
            found[message.obj.__qualname__] = message.msg
    return found


@override_settings(ROOT_URLCONF=__name__)
class PermissionNamesCheckTests(SimpleTestCase):
    def test_each_view_naming_an_undeclared_permission_is_named(self) -> None:
        found = warnings_by_view()
        self.assertEqual(
            sorted(found),
            [
                "Declared",  # through as_view(permission_required=...)
                "DjangosOwn",
                "MethodDecorated",
                "NoLabel",
                "Nothing",
                "OneOfTwo",
                "Typo",
                "decorated",
                "stacked",
            ],
        )
        self.assertIn("'auth.chnage_user'", found["Typo"])
        self.assertIn("'tests.add_publication'", found["OneOfTwo"])
        self.assertNotIn("auth.change_user", found["OneOfTwo"])
        self.assertIn("'auth.add_usre'", found["Declared"])
        self.assertIn("'tests.add_articel'", found["decorated"])
        self.assertIn("'auth.delete_usr'", found["stacked"])
        self.assertNotIn("'auth.add_user'", found["stacked"])
        self.assertIn("'auth.add_usr'", found["MethodDecorated"])
        self.assertIn("'auth.view_usr'", found["DjangosOwn"])
        self.assertIn("'app_label.codename'", found["NoLabel"])
        self.assertIn("names no permission", found["Nothing"])

    def test_the_message_says_what_happens_and_how_to_silence_it(self) -> None:
        message = next(
            m
            for m in checks.run_checks()
            if m.id == W004 and m.obj.__qualname__ == "Typo"
        )
        self.assertEqual(message.level, checks.WARNING)
        self.assertIn(f"{__name__}.Typo", message.msg)
        self.assertIn("only active superusers", message.msg)
        self.assertIn("SILENCED_SYSTEM_CHECKS", message.hint)

    def test_a_consumer_naming_an_undeclared_permission_is_named(self) -> None:
        from channels.generic.websocket import AsyncWebsocketConsumer

        from async_auth_views.channels import PermissionRequiredMixin as Consumer

        # Defined at module level, as a project's consumers are (a class made
        # in a function is not looked at: the test suite makes many).
        module = sys.modules[__name__]
        module.TypoConsumer = type(  # type: ignore[attr-defined]
            "TypoConsumer",
            (Consumer, AsyncWebsocketConsumer),
            {"permission_required": "auth.add_usr", "__module__": __name__},
        )
        try:
            found = warnings_by_view()
        finally:
            del module.TypoConsumer  # type: ignore[attr-defined]
        self.assertIn("'auth.add_usr'", found["TypoConsumer"])

    def test_a_consumer_made_at_run_time_is_not_looked_at(self) -> None:
        from channels.generic.websocket import AsyncWebsocketConsumer

        from async_auth_views.channels import PermissionRequiredMixin as Consumer

        made = type(
            "MadeConsumer",
            (Consumer, AsyncWebsocketConsumer),
            {"permission_required": "auth.add_usr", "__module__": __name__},
        )
        self.assertNotIn("MadeConsumer", warnings_by_view())
        del made

    @override_settings(SILENCED_SYSTEM_CHECKS=[W004])
    def test_it_can_be_silenced(self) -> None:
        self.assertEqual(warnings_by_view(), {})

    @override_settings(ROOT_URLCONF="tests.no_such_urlconf")
    def test_a_urlconf_that_cannot_be_imported_is_left_to_django(self) -> None:
        from async_auth_views.permission_names import check_permission_names

        self.assertEqual(check_permission_names(), [])

    def test_the_projects_own_urlconf_is_clean(self) -> None:
        with override_settings(ROOT_URLCONF="tests.urls"):
            self.assertEqual(warnings_by_view(), {})


@override_settings(ROOT_URLCONF=__name__)
class RefusalLogTests(TestCase):
    """At request time, a refusal names the permissions it required."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = User.objects.create_user("alice")

    def test_an_undeclared_permission_is_a_warning_naming_it(self) -> None:
        self.client.force_login(self.alice)
        with self.assertLogs("async_auth_views", "INFO") as logs:
            self.assertEqual(self.client.get("/nested/typo/").status_code, 403)
        (record,) = logs.records
        self.assertEqual(record.levelname, "WARNING")
        self.assertIn("'auth.chnage_user'", record.getMessage())
        self.assertIn("no installed model declares", record.getMessage())
        self.assertIn("Typo", record.getMessage())

    def test_a_refused_declared_permission_is_information(self) -> None:
        self.client.force_login(self.alice)
        with self.assertLogs("async_auth_views", "INFO") as logs:
            self.assertEqual(self.client.get("/declared/").status_code, 403)
        (record,) = logs.records
        self.assertEqual(record.levelname, "INFO")
        self.assertIn("'auth.change_user'", record.getMessage())
        self.assertIn("Declared", record.getMessage())

    def test_the_decorator_names_its_permission_too(self) -> None:
        self.client.force_login(self.alice)
        with self.assertLogs("async_auth_views", "INFO") as logs:
            self.assertEqual(self.client.get("/decorated/").status_code, 302)
        (record,) = logs.records
        self.assertEqual(record.levelname, "WARNING")
        self.assertIn("'tests.add_articel'", record.getMessage())
        self.assertIn("permission_required", record.getMessage())

    def test_a_superuser_passes_and_nothing_is_logged(self) -> None:
        self.client.force_login(User.objects.create_superuser("root"))
        with self.assertNoLogs("async_auth_views", "INFO"):
            self.assertEqual(self.client.get("/nested/typo/").status_code, 200)
