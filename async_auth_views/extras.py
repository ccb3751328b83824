"""The modules that need an extra say which one when it is not installed."""

from __future__ import annotations

import importlib


def require_extra(module: str, extra: str, needed_by: str) -> None:
    """Import ``module``; if it is not installed, raise ``ModuleNotFoundError``
    saying that ``needed_by`` needs ``extra`` and how to install it."""
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name != module:
            raise  # installed, but something it imports is missing
        raise ModuleNotFoundError(
            f"{needed_by} needs {module}, which is not installed: install the "
            f'{extra} extra, pip install "async-auth-views[{extra}]".',
            name=module,
        ) from error


__all__ = ["require_extra"]
