"""The verify-email and reset-password pages in a real browser, against a real ``usermgmt serve``.

The service runs in a child process with mail written to a directory of
``.eml`` files; the tests take the link out of the mail and open it in
headless Chromium, as a reader would. Every test also checks that the page
made no request to another origin and that its console reported no error
(a Content-Security-Policy violation would be one).
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import attrs
import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.browser import Watched, chromium, watch
from tests.integration.http.helpers import PASSWORD
from tests.integration.http.server import Served, serving

APP_URL = "https://id.example.org"
NEW_PASSWORD = "an entirely new passphrase"
INVALID_LINK = "This link is invalid or has expired"


@attrs.frozen
class Site:
    """A running service, the directory its mail lands in, and a browser."""

    served: Served
    mail_dir: Path
    browser: Browser

    def post(self, path: str, body: dict[str, str]) -> httpx.Response:
        return httpx.post(f"{self.served.url}{path}", json=body, timeout=30)

    def register(self, address: str) -> None:
        response = self.post("/api/users/register", {"email": address, "password": PASSWORD})
        assert response.status_code == 201, response.text

    def login(self, address: str, password: str) -> int:
        return self.post("/api/auth/login", {"email": address, "password": password}).status_code

    def link(self, page: str, *, timeout: float = 30) -> str:
        """Wait for a mail linking to *page*; return its link, rebased onto the service."""
        pattern = re.compile(rf"{re.escape(APP_URL)}(/{page}#token=[A-Za-z0-9_-]+)")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for path in sorted(self.mail_dir.glob("*.eml")):
                found = pattern.search(_text(path))
                if found:
                    return f"{self.served.url}{found[1]}"
            time.sleep(0.1)
        msg = f"no mail linking to /{page} within {timeout} s:\n{self.served.log()}"
        raise AssertionError(msg)

    def reset_link(self, address: str) -> str:
        assert self.post("/api/auth/password/forgot", {"email": address}).status_code == 202
        return self.link("reset-password")

    def open(self, url: str) -> tuple[Page, Watched]:
        page = self.browser.new_page()
        watched = watch(page)
        page.goto(url, wait_until="networkidle")
        return page, watched


def _text(path: Path) -> str:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module's tests."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def site(empty_database: str, tmp_path: Path, browser: Browser) -> Iterator[Site]:
    """Serve the emptied test database, mailing into a directory."""
    mail_dir = tmp_path / "mail"
    env = {
        "USERMGMT_DATABASE_URL": empty_database,
        "USERMGMT_MAIL_URL": f"file://{mail_dir}",
        "USERMGMT_APP_URL": APP_URL,
        "USERMGMT_RATE_LIMIT_PER_MINUTE": "10000",
    }
    with serving("--no-migrate", env=env, log_dir=tmp_path) as served:
        yield Site(served, mail_dir, browser)


def _set_password(page: Page, password: str, again: str | None = None) -> None:
    page.get_by_label("New password").fill(password)
    page.get_by_label("The same password again").fill(password if again is None else again)
    page.get_by_role("button", name="Set the new password").click()


def test_the_reset_link_sets_the_new_password_in_the_browser(site: Site) -> None:
    """Open the mailed link, type the password twice, submit: the new password signs in."""
    site.register("ann@example.org")
    link = site.reset_link("ann@example.org")
    token = link.rsplit("=", 1)[1]

    page, watched = site.open(link)
    _set_password(page, NEW_PASSWORD)

    expect(page.get_by_role("status")).to_have_text(
        "Your password was changed. Sign in with the new one."
    )
    expect(page.locator("#reset")).to_be_hidden()
    assert "#" not in page.url  # the token left the address bar as soon as the page read it
    assert watched.api_calls() == ["/api/auth/password/reset"]
    assert site.login("ann@example.org", NEW_PASSWORD) == 200
    assert site.login("ann@example.org", PASSWORD) == 401
    assert token not in site.served.log()  # the fragment never reached the server
    watched.assert_clean(site.served.url)


def test_a_weak_password_shows_the_policys_reasons_and_the_link_still_works(site: Site) -> None:
    """The 422's reasons are listed under the form, which stays; a good password then works."""
    site.register("ann@example.org")
    page, watched = site.open(site.reset_link("ann@example.org"))

    _set_password(page, "password")

    expect(page.get_by_role("status")).to_have_text("This password cannot be used:")
    expect(page.locator("#reasons li")).not_to_have_count(0)
    assert page.locator("#reasons li").first.inner_text().strip()
    _set_password(page, NEW_PASSWORD)
    expect(page.get_by_role("status")).to_have_text(
        "Your password was changed. Sign in with the new one."
    )
    assert site.login("ann@example.org", NEW_PASSWORD) == 200
    watched.assert_clean(site.served.url)


def test_a_bad_or_spent_link_says_so_and_hides_the_form(site: Site) -> None:
    """A token the service refuses is reported as an invalid or expired link."""
    site.register("ann@example.org")
    link = site.reset_link("ann@example.org")
    token = link.rsplit("=", 1)[1]
    assert site.post("/api/auth/password/reset", {"token": token, "password": NEW_PASSWORD})
    for url in (link, f"{site.served.url}/reset-password#token=not-a-token-we-issued"):
        page, watched = site.open(url)
        _set_password(page, "yet another long passphrase")

        expect(page.get_by_role("status")).to_contain_text(INVALID_LINK)
        expect(page.locator("#reset")).to_be_hidden()
        watched.assert_clean(site.served.url)
    assert site.login("ann@example.org", NEW_PASSWORD) == 200


def test_two_different_passwords_are_caught_before_anything_is_sent(site: Site) -> None:
    """The page says the two differ, and calls no API."""
    site.register("ann@example.org")
    page, watched = site.open(site.reset_link("ann@example.org"))

    _set_password(page, NEW_PASSWORD, "something else entirely")

    expect(page.get_by_role("status")).to_have_text("The two passwords differ.")
    assert watched.api_calls() == []
    watched.assert_clean(site.served.url)


@pytest.mark.parametrize("page_name", ["reset-password", "verify-email"])
def test_a_link_without_a_token_says_it_is_incomplete(site: Site, page_name: str) -> None:
    """No form to fill, and nothing sent."""
    page, watched = site.open(f"{site.served.url}/{page_name}")

    expect(page.get_by_role("status")).to_contain_text("This link is incomplete")
    expect(page.locator("form")).to_be_hidden()
    assert watched.api_calls() == []
    watched.assert_clean(site.served.url)


def test_opening_a_reset_link_spends_nothing(site: Site) -> None:
    """A GET of the page, and the page open in a browser without a click, leave the token live."""
    site.register("ann@example.org")
    link = site.reset_link("ann@example.org")
    token = link.rsplit("=", 1)[1]

    assert httpx.get(link, timeout=30).status_code == 200  # a scanner that fetches the link
    page, watched = site.open(link)  # a scanner that runs the page's script
    page.wait_for_timeout(1000)

    assert watched.api_calls() == []
    reset = site.post("/api/auth/password/reset", {"token": token, "password": NEW_PASSWORD})
    assert reset.status_code == 204, reset.text
    watched.assert_clean(site.served.url)


def test_opening_a_verification_link_calls_nothing_until_the_button(site: Site) -> None:
    """The verify page shows its button and sends nothing before it is pressed."""
    page, watched = site.open(f"{site.served.url}/verify-email#token=some-token-from-a-mail")
    page.wait_for_timeout(1000)

    expect(page.get_by_role("button", name="Verify my address")).to_be_visible()
    assert "#" not in page.url
    assert watched.api_calls() == []
    watched.assert_clean(site.served.url)


# What POST /api/auth/verify-email answers, as SPEC Part 2 defines it.
VERIFY_ANSWERS = {
    200: ({"id": "0", "email": "ann@example.org", "email_verified": True}, "is verified"),
    422: ({"status": 422, "errors": [{"field": "token", "message": "refused"}]}, INVALID_LINK),
    409: ({"status": 409, "title": "Conflict"}, "Another account took this address"),
    503: ({"status": 503, "title": "Service Unavailable"}, "unavailable right now"),
}


@pytest.mark.parametrize("status", list(VERIFY_ANSWERS))
def test_the_verify_button_posts_the_token_and_reports_each_answer(site: Site, status: int) -> None:
    """One POST with the fragment's token, on the click; each answer of the route is explained.

    The route's answers are given by the browser here, as SPEC defines them,
    so the page's handling of each is proven whatever the database holds;
    the test below spends a real token end to end.
    """
    body, says = VERIFY_ANSWERS[status]
    posted: list[str | None] = []
    page = site.browser.new_page()
    watched = watch(page)

    def answer(route: Route) -> None:
        posted.append(route.request.post_data)
        route.fulfill(status=status, json=body, headers={"Content-Type": "application/json"})

    page.route("**/api/auth/verify-email", answer)
    page.goto(f"{site.served.url}/verify-email#token=abc_DEF-123", wait_until="networkidle")
    assert posted == []

    page.get_by_role("button", name="Verify my address").click()

    expect(page.get_by_role("status")).to_contain_text(says)
    assert [json.loads(data or "null") for data in posted] == [{"token": "abc_DEF-123"}]
    watched.assert_clean(site.served.url)


def test_the_mailed_verification_link_verifies_the_address_on_the_button(site: Site) -> None:
    """Registration mails a link; opening it changes nothing; the button verifies the address."""
    site.register("ann@example.org")
    link = site.link("verify-email")

    page, watched = site.open(link)
    page.wait_for_timeout(1000)
    assert watched.api_calls() == []
    page.get_by_role("button", name="Verify my address").click()

    expect(page.get_by_role("status")).to_have_text(
        "Your address ann@example.org is verified. You can close this page."
    )
    tokens = site.post("/api/auth/login", {"email": "ann@example.org", "password": PASSWORD})
    me = httpx.get(
        f"{site.served.url}/api/auth/me",
        headers={"Authorization": f"Bearer {tokens.json()['access_token']}"},
        timeout=30,
    )
    assert me.json()["email_verified"] is True
    again, _ = site.open(link)
    again.get_by_role("button", name="Verify my address").click()
    expect(again.get_by_role("status")).to_contain_text(INVALID_LINK)
    watched.assert_clean(site.served.url)


def test_the_watch_sees_an_inline_script_and_a_foreign_request(site: Site) -> None:
    """What every test above checks can fail: the policy refuses both, and both are seen."""
    page, watched = site.open(f"{site.served.url}/verify-email#token=x")

    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.ran = true";
            document.body.appendChild(script);
            const image = document.createElement("img");
            image.src = "https://cdn.example.com/pixel.png";
            document.body.appendChild(image);
        }"""
    )
    page.wait_for_timeout(500)

    assert page.evaluate("() => window.ran === undefined")
    assert any("Content Security Policy" in error for error in watched.errors), watched.errors
    with pytest.raises(AssertionError):
        watched.assert_clean(site.served.url)
