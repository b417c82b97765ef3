"""The docs page at ``/schema`` works offline: the service serves every file it loads."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from litestar import Litestar
from litestar.testing import TestClient

MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)")


class _References(HTMLParser):
    """Collect every ``src`` and ``href`` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        del tag
        self.found.extend(value for name, value in attrs if name in {"src", "href"} and value)


def _references(page: str) -> list[str]:
    parser = _References()
    parser.feed(page)
    return parser.found


@pytest.mark.parametrize("path", ["/schema", "/schema/swagger"])
def test_every_file_the_docs_page_loads_is_served_by_the_service(
    client: TestClient[Litestar], path: str
) -> None:
    """Each ``src``/``href`` is same-origin and answers 200 with its media type."""
    page = client.get(path)
    references = _references(page.text)

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    kinds = {reference.rsplit(".", 1)[-1] for reference in references}
    assert {"js", "css", "png"} <= kinds
    for reference in references:
        parts = urlsplit(reference)
        assert not parts.scheme, reference
        assert not parts.netloc, reference
        assert parts.path.startswith("/schema/assets/"), reference
        asset = client.get(reference)
        assert asset.status_code == 200, reference
        suffix = "." + parts.path.rsplit(".", 1)[-1]
        assert asset.headers["content-type"] == MEDIA_TYPES[suffix], reference
        assert asset.content


def test_the_page_names_no_other_host(client: TestClient[Litestar]) -> None:
    """No CDN, font service or validator is named anywhere in the page."""
    page = client.get("/schema").text

    assert "cdn" not in page.lower()
    assert "//" not in "".join(_references(page))
    assert "validator.swagger.io" not in page


def test_the_style_sheet_loads_nothing_from_elsewhere(client: TestClient[Litestar]) -> None:
    """Images and fonts of the style sheet are inline ``data:`` URLs; nothing is imported."""
    css = client.get("/schema/assets/swagger-ui.css").text

    urls = CSS_URL.findall(css)

    assert urls
    assert all(url.startswith("data:") for url in urls), [u for u in urls if "data:" not in u]
    assert "@import" not in css


def test_the_assets_can_be_cached(client: TestClient[Litestar]) -> None:
    """The files change only with the package, so browsers may keep them for a day."""
    response = client.get("/schema/assets/swagger-ui-bundle.js")

    assert response.headers["cache-control"] == "max-age=86400, public"


@pytest.mark.parametrize(
    "name",
    ["index.html", "swagger-initializer.js", "index.j2", "swagger-ui.js.map", "..%2F..%2Fx", "x"],
)
def test_only_the_files_the_page_needs_are_served(client: TestClient[Litestar], name: str) -> None:
    """Anything else of the bundle, or outside it, is a 404 problem."""
    response = client.get(f"/schema/assets/{name}")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
