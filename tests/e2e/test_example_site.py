"""The example site, served by uvicorn, driven over HTTP as a browser would."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from devtools.servers import Server

from .example import PASSWORDS

pytestmark = pytest.mark.e2e

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def client(example_site: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=example_site.url, timeout=10.0) as client:
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


@pytest.mark.parametrize(
    ("username", "own_book", "other_book"),
    [("alice", "Dune", "Neuromancer"), ("bob", "Neuromancer", "Dune")],
)
def test_book_edit_is_an_object_permission(
    client: httpx.Client, username: str, own_book: str, other_book: str
) -> None:
    log_in(client, username)
    books = client.get("/books/").text
    edit = {
        title: url
        for title, url in re.findall(
            r'<em>([^<]+)</em>.*?href="([^"]+/edit/)"', books, re.S
        )
    }
    own = client.get(edit[own_book])
    assert own.status_code == 200
    assert f"Edit <em>{own_book}</em>" in own.text
    assert client.get(edit[other_book]).status_code == 403


def test_logout_everywhere_ends_every_session_of_the_user(
    example_site: Server, client: httpx.Client
) -> None:
    log_in(client, "bob")
    with (
        httpx.Client(base_url=example_site.url, timeout=10.0) as other,
        httpx.Client(base_url=example_site.url, timeout=10.0) as alice,
    ):
        log_in(other, "bob")
        log_in(alice, "alice")
        dashboard = client.get("/")
        response = client.post(
            "/logout/everywhere/",
            data={"csrfmiddlewaretoken": csrf_token(dashboard)},
        )
        assert response.status_code == 302
        assert response.headers["location"] == "/login/"
        assert client.get("/").status_code == 302
        assert other.get("/").headers["location"] == "/login/?next=/"
        assert alice.get("/").status_code == 200  # other users keep theirs


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
    example_site: Server, client: httpx.Client
) -> None:
    """The dashboard's WebSocket: refused anonymous, named when logged in, and
    closed with code 4401 as soon as the session is logged out elsewhere."""
    import asyncio
    import json

    import websockets

    ws_url = example_site.url.replace("http://", "ws://") + "/ws/live/"
    log_in(client, "bob")
    cookie = f"sessionid={client.cookies['sessionid']}"

    async def scenario() -> tuple[int, dict[str, str], int | None]:
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(ws_url, origin=example_site.url)  # type: ignore[arg-type]
        async with websockets.connect(
            ws_url,
            origin=example_site.url,  # type: ignore[arg-type]
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


def protected_pages(client: httpx.Client) -> list[str]:
    """The secret page and every book's edit page."""
    books = client.get("/books/").text
    return ["/secret/", *re.findall(r'href="(/books/\d+/edit/)"', books)]


def test_the_403_hint_is_true_for_every_page_and_user(
    example_site: Server,
) -> None:
    """Where the 403 page names who may see it, they may; where it says nobody
    holds the permission, every demo user is refused."""
    clients = {
        name: httpx.Client(base_url=example_site.url, timeout=10.0)
        for name in PASSWORDS
    }
    try:
        for name, client in clients.items():
            log_in(client, name)
        pages = protected_pages(clients["alice"])
        assert len(pages) == 5
        status = {
            (name, page): client.get(page)
            for name, client in clients.items()
            for page in pages
        }
        hints = 0
        for (_, page), response in status.items():
            if response.status_code == 200:
                continue
            assert response.status_code == 403
            hint = re.search(
                r'<p class="muted" id="who-may">([^<]+)</p>', response.text
            )
            assert hint, response.text
            hints += 1
            named = re.match(r"Log in as ([a-z]+(?: and [a-z]+)*) to see it", hint[1])
            if named:
                for other in named[1].split(" and "):
                    assert status[other, page].status_code == 200, (page, hint[1])
            else:
                assert hint[1].startswith("No demo user holds"), hint[1]
                assert {status[other, page].status_code for other in PASSWORDS} == {403}
        # bob on /secret/ and Dune, alice on Neuromancer, both on two books.
        assert hints == 7
    finally:
        for client in clients.values():
            client.close()


def test_a_refused_request_is_logged_on_one_line(
    example_site: Server, client: httpx.Client
) -> None:
    log_in(client, "bob")
    assert client.get("/secret/").status_code == 403
    assert "Forbidden (Permission denied): /secret/" in example_site.log()
    assert "Traceback" not in example_site.log()


def test_log_out_everywhere_after_the_session_ended_logs_in_to_the_dashboard(
    example_site: Server, client: httpx.Client
) -> None:
    """The old page's button, pressed after the session ended elsewhere, leads
    to the login page and from there to the dashboard, not back to a POST-only
    action (once a blank 405)."""
    log_in(client, "bob")
    stale_page = client.get("/")
    with httpx.Client(base_url=example_site.url, timeout=10.0) as other:
        log_in(other, "bob")
        other.post(
            "/logout/everywhere/",
            data={"csrfmiddlewaretoken": csrf_token(other.get("/"))},
        )
    response = client.post(
        "/logout/everywhere/",
        data={"csrfmiddlewaretoken": csrf_token(stale_page)},
    )
    assert response.status_code == 302
    assert response.headers["location"] == "/login/"
    log_in(client, "bob")  # asserts the redirect to "/"
    assert "Hello, bob" in client.get("/").text


@pytest.mark.parametrize("path", ["/logout/", "/logout/everywhere/"])
def test_logout_pages_answer_get_with_their_button(
    client: httpx.Client, path: str
) -> None:
    log_in(client, "alice")
    page = client.get(path)
    assert page.status_code == 200
    assert f'<form method="post" action="{path}"' in page.text
    assert client.get("/").status_code == 200  # GET logged nobody out


def test_logout_pages_answer_get_when_logged_out(client: httpx.Client) -> None:
    logout = client.get("/logout/")
    assert logout.status_code == 200
    assert "You are not signed in" in logout.text
    everywhere = client.get("/logout/everywhere/")
    assert everywhere.status_code == 302
    assert everywhere.headers["location"] == "/login/"


def test_a_stale_form_gets_a_page_that_says_so(client: httpx.Client) -> None:
    """Logging in again rotates the CSRF token: a form opened before fails
    with the demo's explanation, not Django's debug page."""
    log_in(client, "alice")
    stale_page = client.get("/")
    client.post("/logout/", data={"csrfmiddlewaretoken": csrf_token(stale_page)})
    log_in(client, "alice")
    response = client.post(
        "/logout/everywhere/",
        data={"csrfmiddlewaretoken": csrf_token(stale_page)},
    )
    assert response.status_code == 403
    assert "This form is out of date" in response.text
    assert client.get("/").status_code == 200
