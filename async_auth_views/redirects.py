"""The redirect to the login page, built exactly as Django builds it."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import resolve_url


def login_redirect(
    request: HttpRequest, login_url: str, redirect_field_name: str | None
) -> HttpResponseRedirect:
    """Redirect to ``login_url``, carrying where the user was going.

    The ``next`` value is the path alone (query string kept) when the login URL
    has the request's scheme and host, and the full URL otherwise, as in
    ``django.contrib.auth.mixins.AccessMixin.handle_no_permission()``.
    """
    path = request.build_absolute_uri()
    resolved_login_url = resolve_url(login_url)
    login_scheme, login_netloc = urlsplit(resolved_login_url)[:2]
    current_scheme, current_netloc = urlsplit(path)[:2]
    if (not login_scheme or login_scheme == current_scheme) and (
        not login_netloc or login_netloc == current_netloc
    ):
        path = request.get_full_path()
    return redirect_to_login(path, resolved_login_url, redirect_field_name)


__all__ = ["login_redirect"]
