"""The pages that mail links open: static, same-origin, locked down by their headers.

What the pages do in a browser is proven in ``test_pages_browser.py``; these
tests read what the service answers over HTTP.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from litestar import Litestar
from litestar.testing import TestClient

PAGES = ["/verify-email", "/reset-password"]
ASSETS = {
    "/pages/assets/recovery.js": "text/javascript; charset=utf-8",
    "/pages/assets/pages.css": "text/css; charset=utf-8",
    "/pages/assets/icon.svg": "image/svg+xml",
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)


class _Markup(HTMLParser):
    """Collect the references, the inline scripts and the style attributes of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.references: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.references.extend(v for k, v in attrs if k in {"src", "href", "action"} and v)
        if "style" in found or any(k.startswith("on") for k in found):
            self.inline.append(f"{tag} {found}")
        self._in_script = tag == "script"
        if tag == "style":
            self.inline.append("style element")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(data)


def _markup(page: str) -> _Markup:
    parser = _Markup()
    parser.feed(page)
    return parser


@pytest.mark.parametrize("path", PAGES)
def test_each_page_is_html_with_the_locking_headers(
    client: TestClient[Litestar], path: str
) -> None:
    """A strict CSP, no referrer, no sniffing, never stored by a cache."""
    response = client.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", PAGES)
def test_each_page_loads_only_its_own_files_and_carries_no_inline_code(
    client: TestClient[Litestar], path: str
) -> None:
    """Every reference is a same-origin asset that answers 200; no inline script or style."""
    markup = _markup(client.get(path).text)

    assert markup.inline == []
    assert sorted(markup.references) == sorted(ASSETS)
    for reference in markup.references:
        parts = urlsplit(reference)
        assert not parts.scheme, reference
        assert not parts.netloc, reference


@pytest.mark.parametrize("path", list(ASSETS))
def test_the_assets_are_served_with_their_type_and_revalidated(
    client: TestClient[Litestar], path: str
) -> None:
    """An upgraded service never runs a page with an older script."""
    response = client.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"] == ASSETS[path]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-cache"
    assert response.content


def test_the_script_and_style_sheet_name_no_other_origin(client: TestClient[Litestar]) -> None:
    """No URL with a scheme or host, no import, anywhere in the assets."""
    for path in ASSETS:
        text = client.get(path).text.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert not re.search(r"https?:|//[a-z]", text), path
        assert "@import" not in text
        assert "eval(" not in text


@pytest.mark.parametrize(
    "name", ["recovery.js.map", "verify-email.html", "..%2Fpages.py", "x", "pages.css.gz"]
)
def test_no_other_file_is_served(client: TestClient[Litestar], name: str) -> None:
    """Anything but the script and the style sheet is a 404 problem."""
    response = client.get(f"/pages/assets/{name}")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_the_pages_stay_out_of_the_openapi_document(client: TestClient[Litestar]) -> None:
    """They are not API operations, like the docs page at ``/schema``."""
    paths = client.get("/schema/openapi.json").json()["paths"]

    assert not {p for p in paths if p in PAGES or p.startswith("/pages")}
