"""The public API is declared: every module whose name has no leading underscore
lists its public names in ``__all__``, and each listed name exists."""

from __future__ import annotations

import importlib
import pkgutil

from django.test import SimpleTestCase

import async_auth_views


def public_modules() -> list[str]:
    return [
        info.name
        for info in pkgutil.walk_packages(
            async_auth_views.__path__, "async_auth_views."
        )
        if not any(part.startswith("_") for part in info.name.split(".")[1:])
    ]


class PublicApiTests(SimpleTestCase):
    def test_every_public_module_declares_its_names(self) -> None:
        modules = public_modules()
        self.assertIn("async_auth_views.rules", modules)
        for name in modules:
            with self.subTest(module=name):
                module = importlib.import_module(name)
                declared = getattr(module, "__all__", None)
                self.assertIsNotNone(declared, f"{name} has no __all__")
                missing = [n for n in declared if not hasattr(module, n)]
                self.assertEqual(missing, [], f"{name}.__all__ names what it lacks")
