"""The example site in headless Chromium: what a visitor clicks through.

Each step's screenshot is saved under test-output/browser/; the time from a
click that ends a session to the other browser's panel reporting it is
written to test-output/browser/timings.txt.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from devtools.servers import Server

from ..example import PASSWORDS, manage

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

VIEWPORT = {"width": 1000, "height": 600}
PHONE = {"width": 390, "height": 844}
NEW_PASSWORD = "a-new-demo-pass-42"
# Installed on the dashboard once its panel is connected: the wall-clock time
# (ms since the epoch) at which the panel first showed the socket closed.
WATCH_PANEL = """() => {
  const live = document.getElementById("live");
  window.panelClosedAt = null;
  new MutationObserver(() => {
    if (live.dataset.state === "closed" && window.panelClosedAt === null) {
      window.panelClosedAt = Date.now();
    }
  }).observe(live, {attributes: true});
}"""


class Steps:
    """Screenshots of one test's steps, numbered in the order they are taken."""

    def __init__(self, folder: Path, test: str) -> None:
        self.folder, self.test, self.count = folder, test, 0

    def shot(self, page: Page, name: str) -> None:
        self.count += 1
        path = self.folder / f"{self.test}-{self.count:02d}-{name}.png"
        page.screenshot(path=path, full_page=True)


@pytest.fixture
def steps(request: pytest.FixtureRequest, screenshots: Path) -> Steps:
    name = request.node.name.removeprefix("test_").replace("[", "-").rstrip("]")
    return Steps(screenshots, name)


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    """Two separate browsers, as far as cookies go: two devices of one user."""
    opened = [browser.new_context(viewport=VIEWPORT) for _ in range(2)]
    yield opened
    for context in opened:
        context.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[BrowserContext]:
    """A phone-sized browser that honours the pages' viewport meta tag."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    yield context
    context.close()


@pytest.fixture
def restore_passwords(example_env: dict[str, str]) -> Iterator[None]:
    """Reset the demo users after a test that changes a password."""
    yield
    manage("demo_users", env=example_env)


def log_in(
    context: BrowserContext, site: Server, username: str, password: str | None = None
) -> Page:
    """Log in through the login form and return the page, on the dashboard."""
    page = context.new_page()
    page.goto(f"{site.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password or PASSWORDS[username])
    page.click("main button[type=submit]")
    page.wait_for_url(f"{site.url}/")
    return page


def expect_panel_connected(page: Page, username: str) -> None:
    live = page.locator("#live")
    expect(live).to_have_attribute("data-state", "connected", timeout=5000)
    expect(live).to_have_text(f"Connected as {username}")


def expect_panel_closed(page: Page, clicked_at: float, within: float) -> float:
    """The panel says the session ended within ``within`` seconds of the click;
    return how long it took, in seconds."""
    live = page.locator("#live")
    expect(live).to_have_attribute("data-state", "closed", timeout=within * 1000)
    expect(live).to_contain_text("Your session ended")
    return float(page.evaluate("window.panelClosedAt")) / 1000 - clicked_at


def expect_session_ended_page(page: Page) -> None:
    """The page no longer acts signed in: the header says the session ended and
    offers to log in again; no logout button is left."""
    expect(page.locator("#account")).to_contain_text("Session ended")
    expect(page.locator("#account")).not_to_contain_text("Signed in as")
    expect(page.locator("#log-in-again")).to_be_visible()
    expect(page.locator("#live a")).to_have_text("Log in again")
    expect(page.locator("[data-needs-session]")).to_have_count(0)
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)


# What sticks out of the page sideways: the page's scroll width and every
# element whose box crosses the viewport's left or right edge.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const outside = [...document.querySelectorAll("body *")].filter((element) => {
    const box = element.getBoundingClientRect();
    return box.width > 0 && (box.right > width + 0.5 || box.left < -0.5);
  });
  return {
    width: width,
    scrollWidth: document.documentElement.scrollWidth,
    outside: outside.map((e) => `${e.tagName} ${e.textContent.trim().slice(0, 40)}`),
  };
}"""


def expect_fits_the_width(page: Page) -> None:
    fit = page.evaluate(OVERFLOW)
    assert fit["width"] == PHONE["width"], fit
    assert fit["scrollWidth"] <= fit["width"], fit
    assert fit["outside"] == [], fit


def record_timing(screenshots: Path, what: str, seconds: float) -> None:
    with (screenshots / "timings.txt").open("a") as timings:
        timings.write(f"{what}: {seconds * 1000:.0f} ms\n")


def test_anonymous_visitor_is_sent_to_log_in(
    example_site: Server, contexts: list[BrowserContext], steps: Steps
) -> None:
    page = contexts[0].new_page()
    page.goto(f"{example_site.url}/")
    expect(page).to_have_url(f"{example_site.url}/login/?next=/")
    expect(page.locator("h1")).to_have_text("Log in")
    steps.shot(page, "login")


@pytest.mark.parametrize(
    ("username", "may_read_secret", "own_book", "other_book"),
    [("alice", True, "Dune", "Neuromancer"), ("bob", False, "Neuromancer", "Dune")],
    ids=["alice", "bob"],
)
def test_each_demo_user_sees_what_they_may(
    example_site: Server,
    contexts: list[BrowserContext],
    steps: Steps,
    username: str,
    may_read_secret: bool,
    own_book: str,
    other_book: str,
) -> None:
    page = log_in(contexts[0], example_site, username)
    expect(page.locator("h1")).to_have_text(f"Hello, {username}")
    expect_panel_connected(page, username)
    steps.shot(page, "dashboard")

    response = page.goto(f"{example_site.url}/secret/")
    assert response is not None
    if may_read_secret:
        assert response.status == 200
        expect(page.locator("h1")).to_have_text("The secret page")
    else:
        assert response.status == 403
        expect(page.locator("h1")).to_contain_text("this page is not for you")
    steps.shot(page, "secret")

    page.click("nav >> text=Books")
    expect(page.locator("h1")).to_have_text("Books")
    own = page.locator("li", has_text=own_book)
    expect(own.locator(".tag")).to_have_text("yours to edit")
    expect(page.locator(".tag")).to_have_count(1)
    steps.shot(page, "books")

    own.get_by_role("link", name="edit").click()
    expect(page.locator("h1")).to_have_text(f"Edit {own_book}")
    steps.shot(page, "edit-own-book")

    page.go_back()
    with page.expect_response(lambda r: "/edit/" in r.url) as edit:
        page.locator("li", has_text=other_book).get_by_role("link", name="edit").click()
    assert edit.value.status == 403
    expect(page.locator("h1")).to_contain_text("this page is not for you")
    steps.shot(page, "edit-other-book")


def test_log_out_everywhere_closes_the_other_browsers_panel(
    example_site: Server,
    contexts: list[BrowserContext],
    steps: Steps,
    screenshots: Path,
) -> None:
    first = log_in(contexts[0], example_site, "bob")
    expect_panel_connected(first, "bob")
    first.evaluate(WATCH_PANEL)
    second = log_in(contexts[1], example_site, "bob")
    expect_panel_connected(second, "bob")
    steps.shot(first, "first-connected")

    clicked_at = time.time()
    second.click("#logout-everywhere")
    took = expect_panel_closed(first, clicked_at, within=1.0)
    record_timing(screenshots, "log out everywhere: click -> other panel closed", took)
    expect_session_ended_page(first)
    steps.shot(first, "first-session-ended")
    expect(second).to_have_url(f"{example_site.url}/login/")

    # Log in again from the ended page: back on the dashboard, connected.
    first.click("#log-in-again")
    expect(first).to_have_url(f"{example_site.url}/login/?next=/")
    steps.shot(first, "first-log-in-again")
    first.fill("#id_username", "bob")
    first.fill("#id_password", PASSWORDS["bob"])
    first.click("main button[type=submit]")
    expect(first).to_have_url(f"{example_site.url}/")
    expect_panel_connected(first, "bob")
    steps.shot(first, "first-logged-in-again")


@pytest.mark.usefixtures("restore_passwords")
def test_password_change_ends_the_other_browsers_session(
    example_site: Server,
    contexts: list[BrowserContext],
    steps: Steps,
    screenshots: Path,
) -> None:
    first = log_in(contexts[0], example_site, "alice")
    expect_panel_connected(first, "alice")
    first.evaluate(WATCH_PANEL)
    second = log_in(contexts[1], example_site, "alice")
    second.click("text=Change your password")
    second.fill("#id_old_password", PASSWORDS["alice"])
    second.fill("#id_new_password1", NEW_PASSWORD)
    second.fill("#id_new_password2", NEW_PASSWORD)
    steps.shot(second, "second-password-form")

    # Checking the old password and hashing the new one take most of a second
    # each (PBKDF2): the session ends once the new hash is saved, not at the click.
    clicked_at = time.time()
    with second.expect_response(lambda r: r.request.method == "POST"):
        second.click("main button[type=submit]")
    answered = time.time() - clicked_at
    took = expect_panel_closed(first, clicked_at, within=answered + 1.0)
    record_timing(screenshots, "password change: click -> POST answered", answered)
    record_timing(screenshots, "password change: click -> other panel closed", took)
    steps.shot(first, "first-session-ended")
    expect(second.locator("h1")).to_have_text("Password changed")
    steps.shot(second, "second-password-changed")

    # Django keeps the session that changed the password; the other one ended.
    second.goto(f"{example_site.url}/")
    expect(second.locator("h1")).to_have_text("Hello, alice")
    expect_panel_connected(second, "alice")
    first.reload()
    expect(first).to_have_url(f"{example_site.url}/login/?next=/")
    steps.shot(first, "first-logged-out")

    # The old password no longer works, the new one does.
    third = contexts[0].new_page()
    third.goto(f"{example_site.url}/login/")
    third.fill("#id_username", "alice")
    third.fill("#id_password", PASSWORDS["alice"])
    third.click("main button[type=submit]")
    expect(third.locator(".error")).to_contain_text("didn't match")
    third.close()
    log_in(contexts[0], example_site, "alice", NEW_PASSWORD)


def test_log_out_everywhere_from_a_page_whose_session_ended(
    example_site: Server, contexts: list[BrowserContext], steps: Steps
) -> None:
    """A page that missed the end of its session (its panel was never opened)
    still leads back to the dashboard through the login page: no error page."""
    first = log_in(contexts[0], example_site, "alice")
    expect_panel_connected(first, "alice")
    first.evaluate(WATCH_PANEL)
    stale = contexts[0].new_page()
    stale.goto(f"{example_site.url}/logout/everywhere/")
    expect(stale.locator("h1")).to_have_text("Log out everywhere")
    steps.shot(stale, "confirm-page")
    log_in(contexts[1], example_site, "alice").click("#logout-everywhere")
    expect_panel_closed(first, time.time(), within=1.0)

    stale.click("#logout-everywhere")
    expect(stale).to_have_url(f"{example_site.url}/login/")
    steps.shot(stale, "sent-to-log-in")
    stale.fill("#id_username", "alice")
    stale.fill("#id_password", PASSWORDS["alice"])
    stale.click("main button[type=submit]")
    expect(stale).to_have_url(f"{example_site.url}/")
    expect(stale.locator("h1")).to_have_text("Hello, alice")
    steps.shot(stale, "dashboard")


@pytest.mark.parametrize("username", ["alice", "bob"])
def test_every_page_fits_a_phone(
    example_site: Server,
    phone: BrowserContext,
    browser: Browser,
    steps: Steps,
    username: str,
) -> None:
    """At 390 px wide nothing scrolls sideways or sticks out, on every page,
    the 403 pages and a dashboard whose session ended included."""
    page = phone.new_page()
    page.goto(f"{example_site.url}/login/")
    expect_fits_the_width(page)
    steps.shot(page, "login")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORDS[username])
    page.click("main button[type=submit]")
    page.wait_for_url(f"{example_site.url}/")
    expect_panel_connected(page, username)
    expect_fits_the_width(page)
    steps.shot(page, "dashboard")
    page.goto(f"{example_site.url}/books/")
    dune = page.locator("li", has_text="Dune").get_by_role("link", name="edit")
    for name, path in [
        ("books", "/books/"),
        ("edit-dune", dune.get_attribute("href")),
        ("secret", "/secret/"),
        ("password", "/password/"),
        ("logout", "/logout/"),
        ("logout-everywhere", "/logout/everywhere/"),
    ]:
        page.goto(f"{example_site.url}{path}")
        expect_fits_the_width(page)
        steps.shot(page, name)

    page.goto(f"{example_site.url}/")
    expect_panel_connected(page, username)
    page.evaluate(WATCH_PANEL)
    other = browser.new_context(viewport=VIEWPORT)
    try:
        log_in(other, example_site, username).click("#logout-everywhere")
        expect_panel_closed(page, time.time(), within=1.0)
    finally:
        other.close()
    expect_session_ended_page(page)
    expect_fits_the_width(page)
    steps.shot(page, "session-ended")
