"""The example site, served by uvicorn, driven over HTTP as a browser would."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .server import Server, StartServer, server_env

pytestmark = pytest.mark.e2e

EXAMPLE = Path(__file__).resolve().parents[2] / "example"
SETTINGS = "example_site.settings"
PASSWORDS = {"alice": "alice-demo-pass", "bob": "bob-demo-pass"}
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _manage(*args: str, env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLE / "manage.py"), *args],
        env=server_env(env, SETTINGS),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode:
        pytest.fail(
            f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}"
        )


@pytest.fixture(scope="module")
def site(start_server: StartServer, tmp_path_factory: pytest.TempPathFactory) -> Server:
    """The example site on a fresh SQLite file, set up as ``run.py demo`` does."""
    db_path = tmp_path_factory.mktemp("example") / "db.sqlite3"
    env = {"PYTHONPATH": str(EXAMPLE), "EXAMPLE_DB_PATH": str(db_path)}
    _manage("migrate", "--noinput", env=env)
    _manage("demo_users", env=env)
    return start_server(
        "example_site.asgi:application",
        cwd=EXAMPLE,
        env=env,
        settings=SETTINGS,
        ready_path="/login/",
    )


@pytest.fixture
def client(site: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site.url, timeout=10.0) as client:
        yield client


def csrf_token(page: httpx.Response) -> str:
    match = CSRF_INPUT.search(page.text)
    assert match, f"no CSRF token in {page.url}:\n{page.text}"
    return match.group(1)


def log_in(client: httpx.Client, username: str) -> None:
    """Log in through the real login form, CSRF token and all."""
    form = client.get("/login/")
    assert form.status_code == 200
    response = client.post(
        "/login/",
        data={
            "username": username,
            "password": PASSWORDS[username],
            "csrfmiddlewaretoken": csrf_token(form),
        },
    )
    assert response.status_code == 302, response.text
    assert response.headers["location"] == "/"


def test_anonymous_dashboard_redirects_to_login(client: httpx.Client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["location"] == "/login/?next=/"


def test_anonymous_secret_redirects_to_login(client: httpx.Client) -> None:
    response = client.get("/secret/")
    assert response.status_code == 302
    assert response.headers["location"] == "/login/?next=/secret/"


def test_wrong_password_shows_the_form_again(client: httpx.Client) -> None:
    form = client.get("/login/")
    response = client.post(
        "/login/",
        data={
            "username": "alice",
            "password": "not-her-password",
            "csrfmiddlewaretoken": csrf_token(form),
        },
    )
    assert response.status_code == 200
    assert "didn't match" in response.text
    assert client.get("/").status_code == 302


def test_dashboard_names_the_user(client: httpx.Client) -> None:
    log_in(client, "alice")
    response = client.get("/")
    assert response.status_code == 200
    assert "Hello, alice" in response.text
    assert "Signed in as <strong>alice</strong>" in response.text


def test_secret_page_for_a_user_with_the_permission(client: httpx.Client) -> None:
    log_in(client, "alice")
    response = client.get("/secret/")
    assert response.status_code == 200
    assert "The secret page" in response.text


def test_secret_page_is_403_for_a_user_without_it(client: httpx.Client) -> None:
    log_in(client, "bob")
    response = client.get("/secret/")
    assert response.status_code == 403
    assert "this page is not for you" in response.text
    assert "Signed in as <strong>bob</strong>" in response.text


def test_books_lists_the_books(client: httpx.Client) -> None:
    log_in(client, "bob")
    response = client.get("/books/")
    assert response.status_code == 200
    titles = re.findall(r"<em>([^<]+)</em>", response.text)
    assert titles == [
        "A Wizard of Earthsea",
        "Dune",
        "Neuromancer",
        "The Left Hand of Darkness",
    ]


def test_logout_ends_the_session(client: httpx.Client) -> None:
    log_in(client, "alice")
    dashboard = client.get("/")
    response = client.post(
        "/logout/", data={"csrfmiddlewaretoken": csrf_token(dashboard)}
    )
    assert response.status_code == 302
    assert response.headers["location"] == "/login/"
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["location"] == "/login/?next=/"


def test_live_panel_names_the_user_and_closes_on_logout(
    site: Server, client: httpx.Client
) -> None:
    """The dashboard's WebSocket: refused anonymous, named when logged in, and
    closed with code 4401 as soon as the session is logged out elsewhere."""
    import asyncio
    import json

    import websockets

    ws_url = site.url.replace("http://", "ws://") + "/ws/live/"
    log_in(client, "bob")
    cookie = f"sessionid={client.cookies['sessionid']}"

    async def scenario() -> tuple[int, dict[str, str], int | None]:
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(ws_url, origin=site.url)  # type: ignore[arg-type]
        async with websockets.connect(
            ws_url,
            origin=site.url,  # type: ignore[arg-type]
            additional_headers={"Cookie": cookie},
        ) as ws:
            hello = json.loads(await asyncio.wait_for(ws.recv(), 5))
            dashboard = await asyncio.to_thread(client.get, "/")
            await asyncio.to_thread(
                client.post,
                "/logout/",
                data={"csrfmiddlewaretoken": csrf_token(dashboard)},
            )
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 1.0)
            code = ws.close_code
        return refused.value.response.status_code, hello, code

    status, hello, code = asyncio.run(scenario())
    assert status == 403
    assert hello == {"user": "bob"}
    assert code == 4401
