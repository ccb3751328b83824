"""Requests through Django's own ASGI handler, with the scope a server builds.

``AsyncClient`` builds its own Cookie header (and Django 5.2 joins two of them
with a comma), so tests of raw, hostile headers and paths go through
``ASGIHandler`` directly, as uvicorn's requests do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.core.handlers.asgi import ASGIHandler

Headers = Sequence[tuple[bytes, bytes]]


def asgi_scope(
    path: str,
    query: bytes = b"",
    host: str = "testserver",
    scheme: str = "http",
    headers: Headers = (),
) -> dict[str, Any]:
    """The scope a server builds for a GET of ``path`` (already percent-decoded)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": scheme,
        "path": path,
        "raw_path": path.encode("utf-8", "surrogateescape"),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", host.encode()), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


@dataclass
class Answer:
    """What the client got back."""

    status_code: int
    headers: dict[str, str]
    content: bytes
    cookies: SimpleCookie

    def __getitem__(self, header: str) -> str:
        return self.headers[header.lower()]


def asgi_get(path: str, headers: Headers = ()) -> Answer:
    """GET ``path`` with ``headers`` through ``ASGIHandler``, from sync code."""

    async def request() -> Answer:
        communicator = ApplicationCommunicator(
            ASGIHandler(), asgi_scope(path, headers=headers)
        )
        await communicator.send_input({"type": "http.request", "body": b""})
        start = await communicator.receive_output(timeout=10)
        body = b""
        while True:
            message = await communicator.receive_output(timeout=10)
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await communicator.wait()
        cookies: SimpleCookie = SimpleCookie()
        found: dict[str, str] = {}
        for name, value in start["headers"]:
            if name.lower() == b"set-cookie":
                cookies.load(value.decode("latin-1"))
            else:
                found[name.decode("latin-1").lower()] = value.decode("latin-1")
        return Answer(start["status"], found, body, cookies)

    return async_to_sync(request)()
