"""The two pages that mail links open: ``/verify-email`` and ``/reset-password``.

A link in a mail carries its token in the fragment (``#token=…``), which a
browser never sends to a server, so the token stays out of access logs and
``Referer`` headers. Each page is static HTML with one script of the
project's own (``/pages/assets/recovery.js``) that reads the fragment, takes
it out of the address bar and POSTs it to the API, so the default links work
with no front end. Loading a page spends nothing: mail scanners open links,
and some run scripts, so both pages wait for the reader to press a button.

The pages load nothing from another origin and carry no inline script or
style, which lets their Content-Security-Policy forbid everything else. They
are not API operations and stay out of the OpenAPI document, like the docs
page at ``/schema``.
"""

from __future__ import annotations

import functools
from importlib.resources import files
from typing import Final

from litestar import Response, Router, get
from litestar.datastructures import ResponseHeader
from litestar.params import FromPath

from usermgmt.entrypoints.http.problems import unknown_path

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)
"""Only this origin's script, style sheet and API; no forms posted, no framing."""

_STATIC: Final = files("usermgmt.entrypoints.http") / "static"
_HEADERS: Final = [
    ResponseHeader(name="Content-Security-Policy", value=CONTENT_SECURITY_POLICY),
    ResponseHeader(name="Referrer-Policy", value="no-referrer"),
    ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
]
_NO_STORE: Final = ResponseHeader(name="Cache-Control", value="no-store")
_ASSET_TYPES: Final = {
    "recovery.js": "text/javascript",
    "pages.css": "text/css",
    "icon.svg": "image/svg+xml",  # declared by the pages, so browsers ask for no /favicon.ico
}


@functools.cache
def _read(name: str) -> bytes:
    """Read one shipped file once per process."""
    return (_STATIC / name).read_bytes()


@get("/verify-email", response_headers=[*_HEADERS, _NO_STORE], sync_to_thread=False)
def verify_email_page() -> Response[bytes]:
    """Serve the page that a verification link opens; its button spends the token."""
    return Response(_read("verify-email.html"), media_type="text/html")


@get("/reset-password", response_headers=[*_HEADERS, _NO_STORE], sync_to_thread=False)
def reset_password_page() -> Response[bytes]:
    """Serve the page that a reset link opens: a form for the new password."""
    return Response(_read("reset-password.html"), media_type="text/html")


@get(
    "/pages/assets/{name:str}",
    # Revalidated on every use: after an upgrade a page never runs an older script.
    response_headers=[*_HEADERS, ResponseHeader(name="Cache-Control", value="no-cache")],
    sync_to_thread=False,
)
def page_asset(name: FromPath[str]) -> Response[bytes]:
    """Serve the pages' script or style sheet; any other name is a 404 problem."""
    media_type = _ASSET_TYPES.get(name)
    if media_type is None:
        raise unknown_path()
    return Response(_read(name), media_type=media_type)


PAGES: Final = Router(
    "/",
    route_handlers=[verify_email_page, reset_password_page, page_asset],
    include_in_schema=False,
)
"""The pages and their assets, left out of the OpenAPI document."""
