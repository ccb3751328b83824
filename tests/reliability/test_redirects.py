"""The login redirect never leaves the site where Django's would not.

``async_auth_views.redirects.login_redirect`` builds the redirect of the view
mixins and of the consumer mixins (HTTP). Property-based tests (hypothesis)
compare it with Django's own ``AccessMixin.handle_no_permission()`` on
arbitrary request paths, query strings, hosts, schemes, login URLs and field
names, including the ones that try to leave the site; table tests request such
paths through the middleware stack and hand such ``next`` values to Django's
``LoginView``.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from django.contrib.auth import mixins as django_mixins
from django.contrib.auth.models import AnonymousUser, User
from django.core.handlers.asgi import ASGIRequest
from django.core.handlers.wsgi import WSGIHandler
from django.http import QueryDict
from django.test import Client, RequestFactory, override_settings
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from hypothesis import example, given, settings
from hypothesis import strategies as st

from async_auth_views.mixins import AccessMixin

from .asgi import asgi_get, asgi_scope

OFF_SITE = [
    "//evil.example",
    "//evil.example/login/",
    "///evil.example",
    "https://evil.example",
    "http:evil.example",
    "https:/\\evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "%2F%2Fevil.example",
    "/%2F%2Fevil.example",
    "/%5Cevil.example",
    " //evil.example",
    "\t//evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "//evil.example@testserver",
    "http://testserver@evil.example",
]
LOGIN_URLS = [
    "/login/",
    "login-page",  # a URL name, reversed by resolve_url()
    "http://testserver/login/",
    "https://testserver/login/",
    "https://accounts.example/login/",
    "/login/?source=app",
    *OFF_SITE,
]
HOSTS = ["testserver", "localhost", "127.0.0.1:8000"]
URL_CHARS = st.characters(
    codec="utf-8", exclude_categories=("Cs",), include_characters="/\\:@?#%&=;. "
)


class DjangoView(django_mixins.AccessMixin, View):
    pass


class OurView(AccessMixin, View):
    pass


def asgi_request(path: str, query: bytes, host: str, scheme: str) -> ASGIRequest:
    request = ASGIRequest(asgi_scope(path, query, host, scheme), BytesIO())
    request.user = AnonymousUser()
    return request


def stays_on_site(location: str, page: str) -> bool:
    """Whether a browser on ``page`` of http://testserver, redirected to
    ``location``, stays there (browsers read a backslash as a slash)."""
    target = urljoin("http://testserver" + page, location.replace("\\", "/"))
    return bool(url_has_allowed_host_and_scheme(location, {"testserver"})) and (
        urlsplit(target).netloc == "testserver"
    )


def outcome(view_class: type, request: Any, login_url: str, field: str | None) -> Any:
    """The Location the view's handle_no_permission() answers, or the error it raises."""
    view = view_class(login_url=login_url, redirect_field_name=field)
    view.setup(request)
    try:
        return view.handle_no_permission()["Location"]
    except Exception as exc:  # the same refusal as Django's is the requirement
        return type(exc)


paths = st.builds(lambda rest: "/" + rest, st.text(URL_CHARS, max_size=40)) | (
    st.sampled_from(OFF_SITE).map(lambda p: p if p.startswith("/") else "/" + p)
)
queries = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30)
login_urls = st.sampled_from(LOGIN_URLS) | st.text(URL_CHARS, max_size=30)
fields = st.sampled_from(["next", "to", None]) | st.text(
    st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=8
)


@settings(max_examples=400, deadline=None)
@given(
    path=paths,
    query=queries,
    host=st.sampled_from(HOSTS),
    scheme=st.sampled_from(["http", "https"]),
    login_url=login_urls,
    field=fields,
)
@example(
    path="//evil.example", query="", host="testserver", scheme="http",
    login_url="/login/", field="next",
)  # fmt: skip
def test_same_redirect_as_django(
    path: str, query: str, host: str, scheme: str, login_url: str, field: str | None
) -> None:
    request = asgi_request(path, query.encode(), host, scheme)
    ours = outcome(OurView, request, login_url, field)
    assert ours == outcome(DjangoView, request, login_url, field)
    if isinstance(ours, str) and url_has_allowed_host_and_scheme(
        login_url, {request.get_host()}
    ):
        # A login URL on this site gives a redirect on this site, whose next
        # is exactly the URL requested (its path alone when on the same origin).
        assert url_has_allowed_host_and_scheme(ours, {request.get_host()})
        if field and urlsplit(login_url).path == urlsplit(ours).path:
            next_url = QueryDict(urlsplit(ours).query)[field]
            assert next_url in (request.get_full_path(), request.build_absolute_uri())


def served_over_asgi(path: str) -> tuple[int, dict[bytes, bytes]]:
    """Status and headers of an anonymous GET of ``path``, through Django's ASGI handler."""
    answer = asgi_get(path)
    headers = {
        k.title().encode(): v.encode("latin-1") for k, v in answer.headers.items()
    }
    return answer.status_code, headers


def served_over_wsgi(path: str) -> tuple[int, dict[bytes, bytes]]:
    """See served_over_asgi(); through Django's WSGI handler."""
    environ = RequestFactory()._base_environ(
        PATH_INFO=path.encode().decode("latin-1"), QUERY_STRING=""
    )
    started: list[Any] = []
    WSGIHandler()(environ, lambda status, headers: started.append((status, headers)))
    status, headers = started[0]
    return int(status.split()[0]), {k.encode(): v.encode() for k, v in headers}


@pytest.mark.django_db  # the handlers close old connections
@override_settings(ROOT_URLCONF="tests.reliability.urls")
@pytest.mark.parametrize("path", OFF_SITE)
@pytest.mark.parametrize("served", [served_over_asgi, served_over_wsgi])
def test_off_site_looking_path_redirects_to_this_sites_login(
    served: Any, path: str
) -> None:
    """A request for ``//evil.example`` and the like, as a server passes it on,
    is sent to this site's login page, never elsewhere."""
    requested = path if path.startswith("/") else "/" + path
    status, headers = served(requested)
    assert status == 302
    location = headers[b"Location"].decode("latin-1")
    assert location.startswith("/login/?next=/")
    assert stays_on_site(location, requested)


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="tests.reliability.urls", LOGIN_REDIRECT_URL="/home/")
@pytest.mark.parametrize("next_url", OFF_SITE)
def test_login_view_refuses_an_off_site_next(next_url: str) -> None:
    """Django's LoginView, which reads the ``next`` we build, ignores an off-site one."""
    User.objects.create_user("alice", password="alice-pass")
    response = Client().post(
        "/accounts/login/",
        {"username": "alice", "password": "alice-pass", "next": next_url},
    )
    assert response.status_code == 302
    assert stays_on_site(response["Location"], "/accounts/login/")
