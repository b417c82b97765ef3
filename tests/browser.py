"""A real headless browser for the tests: Playwright for Python driving Debian's Chromium.

Playwright's own browser download is never used (``playwright install`` is
not part of the set-up): the tests launch the system's ``/usr/bin/chromium``,
which ``.ci/run`` installs with the other Debian packages. Without it, the
browser tests skip and say why.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import attrs
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium (``apt-get install chromium``)."""

_FAILED_STATUS = "Failed to load resource: the server responded with a status of"


@attrs.define
class Watched:
    """What a page did: every request it made, and every error its console reported."""

    requests: list[str] = attrs.field(factory=list)
    errors: list[str] = attrs.field(factory=list)
    refused: list[str] = attrs.field(factory=list)
    """The API's 4xx and 5xx answers, which the console reports too; each test checks its own."""

    def api_calls(self) -> list[str]:
        """Return the paths of the requests made to ``/api``."""
        return [
            urlsplit(url).path for url in self.requests if urlsplit(url).path.startswith("/api")
        ]

    def assert_clean(self, origin: str) -> None:
        """Fail unless every request went to *origin* and the console stayed free of errors.

        A Content-Security-Policy violation is reported on the console, so
        this also proves the page's policy never had to refuse anything.
        """
        netloc = urlsplit(origin).netloc
        elsewhere = [url for url in self.requests if urlsplit(url).netloc != netloc]
        assert elsewhere == [], elsewhere
        assert self.errors == [], (self.errors, self.requests)


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """Yield a launched headless Chromium; skip the test when the system has none."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: apt-get install chromium (as .ci/run does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield browser
        finally:
            browser.close()


def watch(page: Page) -> Watched:
    """Start recording *page*'s requests, console errors and uncaught exceptions."""
    watched = Watched()

    def on_request(request: Request) -> None:
        watched.requests.append(request.url)

    def on_console(message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        source = urlsplit(message.location.get("url", "")).path
        if message.text.startswith(_FAILED_STATUS) and source.startswith("/api/"):
            watched.refused.append(f"{source}: {message.text}")
        else:
            watched.errors.append(message.text)

    def on_error(error: Exception) -> None:
        watched.errors.append(f"uncaught: {error}")

    page.on("request", on_request)
    page.on("console", on_console)
    page.on("pageerror", on_error)
    return watched
