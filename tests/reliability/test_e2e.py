"""Through a real uvicorn on 127.0.0.1: users stay isolated under concurrency,
a lost database fails closed, and bad WebSocket handshakes are refused.

The server (``tests.reliability.e2e_app``) serves 50 users, ``u00`` to ``u49``,
each holding a different set of permissions: user ``i`` holds ``PERMS[b]`` for
every bit ``b`` set in ``i``. Each user has ``SESSIONS_PER_USER`` sessions,
stored as ``login()`` stores them.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import ssl
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from async_auth_views.channels import CLOSE_UNAUTHENTICATED
from devtools.channels_e2e import post, prepared_database, run_django, serve
from devtools.servers import Server

pytestmark = pytest.mark.e2e

APP = "tests.reliability.e2e_app:application"
SETTINGS = "tests.reliability.e2e_settings"
PERMS = [
    "auth.add_user",
    "auth.change_user",
    "auth.delete_user",
    "auth.view_user",
    "auth.add_group",
    "auth.view_group",
]
USERS = [f"u{i:02d}" for i in range(50)]
SESSIONS_PER_USER = 2

# HTTP: REQUESTS requests from CONCURRENCY clients, each with its own
# connection; ANONYMOUS of the clients have no session, the others are users.
# The full 5,000 run in one tox env (py312-dj61 sets ASYNC_AUTH_FULL_LOAD), so
# that CI's other envs stay quick; they send 1,000.
REQUESTS = 5000 if os.environ.get("ASYNC_AUTH_FULL_LOAD") else 1000
CONCURRENCY = 100
ANONYMOUS = 20
# WebSockets: SOCKETS sockets, SOCKETS // len(USERS) per user over its sessions.
SOCKETS = 200
MESSAGES_PER_SOCKET = 3

Sessions = dict[str, list[str]]

CREATE_USERS = """
import json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import Permission, User
from django.contrib.sessions.backends.db import SessionStore

perms = {
    f"{p.content_type.app_label}.{p.codename}": p
    for p in Permission.objects.select_related("content_type")
}
sessions = {}
for i, name in enumerate(USERS):
    user = User.objects.create_user(name, password="user-pass")
    user.user_permissions.set([perms[p] for b, p in enumerate(PERMS) if i >> b & 1])
    sessions[name] = []
    for _ in range(SESSIONS_PER_USER):
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        sessions[name].append(session.session_key)
print(json.dumps(sessions))
"""


def permissions_of(username: str) -> set[str]:
    index = int(username[1:])
    return {perm for bit, perm in enumerate(PERMS) if index >> bit & 1}


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with prepared_database(tmp_path_factory.mktemp("reliability-e2e")) as env:
        yield env


@pytest.fixture(scope="module")
def sessions(database: dict[str, str]) -> Sessions:
    """The session keys of each of the 50 users."""
    constants = f"USERS = {USERS!r}\nPERMS = {PERMS!r}\n"
    constants += f"SESSIONS_PER_USER = {SESSIONS_PER_USER}\n"
    output = run_django(
        "shell", "-c", constants + CREATE_USERS, env=database, settings=SETTINGS
    )
    result: Sessions = json.loads(output.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def server(
    database: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    log_path = tmp_path_factory.mktemp("uvicorn") / "server.log"
    # Without dev mode (tox sets PYTHONDEVMODE): its debug allocator and asyncio
    # debug mode would make the load tests several times slower.
    env = {**database, "PYTHONDEVMODE": ""}
    options = ["--no-access-log"]
    with serve(env, log_path, app=APP, settings=SETTINGS, options=options) as server:
        yield server


def cookie(session_key: str | None) -> dict[str, str]:
    return {"Cookie": f"sessionid={session_key}"} if session_key else {}


def run(scenario: Any) -> Any:
    """Run the client side with asyncio's debug mode off (tox sets PYTHONDEVMODE)."""
    return asyncio.run(scenario, debug=False)


# Isolation under concurrency --------------------------------------------------


def expected_answer(username: str | None, perm: str) -> tuple[int, str]:
    if username is None:
        return 302, f"/login/?next=/perm/{perm}/"
    if perm in permissions_of(username):
        return 200, f"user={username} perm={perm} granted"
    return 403, f"user={username} path=/perm/{perm}/ denied"


def test_http_responses_name_their_own_user_and_decision(
    server: Server, sessions: Sessions
) -> None:
    """REQUESTS requests at CONCURRENCY over the 50 users and anonymous clients:
    every answer names its own user and that user's own permission decision."""
    identities: list[tuple[str | None, str | None]] = [
        (name, sessions[name][i // len(USERS)])
        for i, name in enumerate(USERS * SESSIONS_PER_USER)
    ][: CONCURRENCY - ANONYMOUS] + [(None, None)] * ANONYMOUS
    per_client = REQUESTS // CONCURRENCY
    mismatches: list[tuple[str | None, str, int, str]] = []
    statuses: Counter[int] = Counter()
    tls = ssl.create_default_context()  # one for all clients: none is used
    in_flight = peak = 0

    async def client(index: int, username: str | None, key: str | None) -> None:
        nonlocal in_flight, peak
        async with httpx.AsyncClient(
            base_url=server.url, headers=cookie(key), timeout=60, verify=tls
        ) as http:
            for n in range(per_client):
                perm = PERMS[(index + n) % len(PERMS)]
                in_flight += 1
                peak = max(peak, in_flight)
                response = await http.get(f"/perm/{perm}/")
                in_flight -= 1
                statuses[response.status_code] += 1
                answer = response.headers.get("location", response.text)
                if (response.status_code, answer) != expected_answer(username, perm):
                    mismatches.append((username, perm, response.status_code, answer))

    async def scenario() -> None:
        await asyncio.gather(
            *(client(i, *identity) for i, identity in enumerate(identities))
        )

    began = time.monotonic()
    run(scenario())
    print(
        f"{sum(statuses.values())} requests, {dict(statuses)}, peak {peak} in flight, {time.monotonic() - began:.1f} s"
    )
    assert sum(statuses.values()) == REQUESTS
    assert peak == CONCURRENCY
    assert set(statuses) == {200, 302, 403}
    assert mismatches == [], f"{len(mismatches)} leaks, e.g. {mismatches[:5]}"


async def open_user_socket(server: Server, session_key: str) -> ClientConnection:
    ws = await websockets.connect(
        server.url.replace("http://", "ws://") + "/ws/user/",
        origin=server.url,  # type: ignore[arg-type]
        additional_headers=cookie(session_key),
        open_timeout=60,
    )
    return ws


async def received(ws: ClientConnection, count: int) -> list[str]:
    return [str(await asyncio.wait_for(ws.recv(), 30)) for _ in range(count)]


def test_sockets_hear_only_their_own_user_and_revocation_closes_exactly_its_own(
    server: Server, sessions: Sessions
) -> None:
    """SOCKETS sockets over the 50 users, opened at once: each greets its own user
    and hears only what its own user's sockets send. Changing one user's
    password closes that user's sockets, and only those."""
    per_user = SOCKETS // len(USERS)
    owners = [USERS[i % len(USERS)] for i in range(SOCKETS)]
    revoked = USERS[37]

    async def scenario() -> None:
        keys = [sessions[name][i % SESSIONS_PER_USER] for i, name in enumerate(owners)]
        sockets = await asyncio.gather(*(open_user_socket(server, k) for k in keys))
        try:
            greetings = await asyncio.gather(*(received(ws, 1) for ws in sockets))
            assert [g[0] for g in greetings] == [f"hello {name}" for name in owners]
            for index, ws in enumerate(sockets):
                for n in range(MESSAGES_PER_SOCKET):
                    await ws.send(f"s{index}-{n}")
            heard = await asyncio.gather(
                *(received(ws, per_user * MESSAGES_PER_SOCKET) for ws in sockets)
            )
            leaks = []
            for index, (name, messages) in enumerate(zip(owners, heard, strict=True)):
                sent_by_user = {
                    f"{name}:s{i}-{n}"
                    for i, owner in enumerate(owners)
                    if owner == name
                    for n in range(MESSAGES_PER_SOCKET)
                }
                if set(messages) != sent_by_user:
                    leaks.append((index, name, sorted(set(messages) - sent_by_user)))
            assert leaks == [], f"{len(leaks)} sockets heard others: {leaks[:3]}"

            await post(server, "/password/", sessions[revoked][0], password="new")
            mine = [
                ws for ws, name in zip(sockets, owners, strict=True) if name == revoked
            ]
            others = [
                ws for ws, name in zip(sockets, owners, strict=True) if name != revoked
            ]
            closed = await asyncio.gather(
                *(asyncio.wait_for(ws.wait_closed(), 10) for ws in mine)
            )
            assert len(closed) == per_user
            assert [ws.close_code for ws in mine] == [CLOSE_UNAUTHENTICATED] * per_user
            for ws in others:
                await ws.send("still here")
            replies = await asyncio.gather(*(received(ws, per_user) for ws in others))
            assert all(ws.close_code is None for ws in others)
            assert all(
                reply == [f"{name}:still here"] * per_user
                for reply, name in zip(
                    replies, [n for n in owners if n != revoked], strict=True
                )
            )
        finally:
            await asyncio.gather(*(ws.close() for ws in sockets))

    began = time.monotonic()
    run(scenario())
    print(f"{SOCKETS} sockets, {time.monotonic() - began:.1f} s")


# Faults and bad input ---------------------------------------------------------


@contextmanager
def sessions_lost(database: dict[str, str]) -> Iterator[str]:
    """The servers' session table is gone for the block; yields the cause the
    server logs. The SQLite file is moved away (SQLite then creates an empty
    one), or the PostgreSQL table renamed."""
    if url := database.get("E2E_DATABASE_URL"):
        import psycopg

        from devtools.databases import plain_url

        with psycopg.connect(plain_url(url), autocommit=True) as connection:
            connection.execute("ALTER TABLE django_session RENAME TO sessions_away")
            try:
                yield 'relation "django_session" does not exist'
            finally:
                connection.execute("ALTER TABLE sessions_away RENAME TO django_session")
        return
    db_path = Path(database["E2E_DB_PATH"])
    away = db_path.with_suffix(".away")
    os.replace(db_path, away)
    try:
        yield "no such table: django_session"
    finally:
        os.replace(away, db_path)  # over the empty file SQLite created


def test_database_lost_between_requests_fails_closed(
    server: Server, database: dict[str, str], sessions: Sessions
) -> None:
    """The session table disappears between two requests: the next request is a
    500 logged once with the cause, never the page; once it is back, served."""
    headers = cookie(sessions["u05"][1])
    with httpx.Client(base_url=server.url, headers=headers) as http:
        assert http.get("/me/").text == "user=u05"
        logged = server.log().count("Internal Server Error: /me/")
        with sessions_lost(database) as cause:
            lost = http.get("/me/")
        assert lost.status_code == 500
        assert "u05" not in lost.text
        time.sleep(0.2)  # the log line is flushed by another thread
        log = server.log()
        assert log.count("Internal Server Error: /me/") == logged + 1
        assert cause in log
        back = http.get("/me/")
        assert (back.status_code, back.text) == (200, "user=u05")


def refused_status(server: Server, origin: str | None, headers: dict[str, str]) -> int:
    async def handshake() -> int:
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(
                server.url.replace("http://", "ws://") + "/ws/user/",
                origin=origin,  # type: ignore[arg-type]
                additional_headers=headers,
            )
        return refused.value.response.status_code

    return int(run(handshake()))


@pytest.mark.parametrize(
    "case",
    ["no-cookie", "forged-cookie", "empty-cookie", "foreign-origin", "no-origin"],
)
def test_bad_websocket_handshake_is_refused(
    server: Server, sessions: Sessions, case: str
) -> None:
    valid = cookie(sessions["u01"][0])
    origin, headers = {
        "no-cookie": (server.url, {}),
        "forged-cookie": (server.url, cookie("f" * 32)),
        "empty-cookie": (server.url, {"Cookie": "sessionid="}),
        # AllowedHostsOriginValidator is outermost: even a valid session is refused.
        "foreign-origin": ("http://evil.example", valid),
        "no-origin": (None, valid),
    }[case]
    assert refused_status(server, origin, headers) == 403


def test_garbage_and_oversized_frames_after_a_refused_handshake(
    server: Server, sessions: Sessions
) -> None:
    """After answering 403 to a handshake, the server reads no frames: garbage and
    a frame announcing 2**63 bytes get the connection closed, and it serves on."""
    host, port = server.url.removeprefix("http://").split(":")
    handshake = (
        "GET /ws/user/ HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        f"Origin: {server.url}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    oversized = b"\x82\xff" + (2**63 - 1).to_bytes(8, "big") + b"\x00\x00\x00\x00"
    for payload in [os.urandom(64 * 1024), oversized + os.urandom(1024)]:
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(handshake)
            answer = sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 403"), answer
            after = b""
            try:
                sock.sendall(payload)
                while chunk := sock.recv(65536):
                    after += chunk
            except (ConnectionResetError, BrokenPipeError):
                pass  # closed on us: what we want
            assert b"101" not in after and b"u0" not in after
    with httpx.Client(base_url=server.url, headers=cookie(sessions["u02"][0])) as http:
        assert http.get("/me/").text == "user=u02"
