"""The passkey snippets of docs/mfa.md, run as written in Chromium against `usermgmt serve`.

Chromium's own WebAuthn client (``parseCreationOptionsFromJSON``,
``navigator.credentials``, ``toJSON``) talks to its DevTools virtual
authenticator, a CTAP2 device with a resident key and user verification:
an implementation of the browser's side that owes nothing to the project's
own virtual passkey. The page is served from ``http://localhost:PORT``, a
secure context whose host is the RP id.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.browser import chromium, watch
from tests.integration.http import server
from tests.integration.http.helpers import PASSWORD
from tests.integration.http.server import Served, serving

_SNIPPET = re.compile(r"```js\n(.*?)```", re.DOTALL)


def _snippets() -> str:
    """The JavaScript blocks of docs/mfa.md, in order."""
    text = (Path(__file__).parents[3] / "docs" / "mfa.md").read_text(encoding="utf-8")
    blocks = _SNIPPET.findall(text)
    assert blocks, "docs/mfa.md shows no JavaScript"
    return "\n".join(blocks)


@pytest.fixture
def served(
    empty_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Served]:
    """Serve the emptied test database on a port chosen first, the origin the RP expects."""
    port = server.free_port()
    monkeypatch.setattr(server, "free_port", lambda: port)
    env = {
        "USERMGMT_DATABASE_URL": empty_database,
        "USERMGMT_MAIL_URL": f"file://{tmp_path / 'mail'}",
        "USERMGMT_RATE_LIMIT_PER_MINUTE": "10000",
        "USERMGMT_WEBAUTHN_RP_ID": "localhost",
        "USERMGMT_WEBAUTHN_ORIGINS": f"http://localhost:{port}",
    }
    with serving("--no-migrate", env=env, log_dir=tmp_path) as running:
        yield running


@pytest.fixture
def browser() -> Iterator[Browser]:
    """A headless Chromium."""
    with chromium() as launched:
        yield launched


def _with_authenticator(page: Page) -> None:
    """Give *page* a platform authenticator that verifies its user, as a laptop's would."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    options = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})


def test_the_documented_snippets_add_a_passkey_and_sign_in_with_it(
    served: Served, browser: Browser
) -> None:
    """AddPasskey answers 201; signInWithPasskey a session whose amr is hwk."""
    origin = f"http://localhost:{served.port}"
    api = served.url
    registered = httpx.post(
        f"{api}/api/users/register",
        json={"email": "ann@example.org", "password": PASSWORD},
        timeout=30,
    )
    assert registered.status_code == 201, registered.text
    login = httpx.post(
        f"{api}/api/auth/login",
        json={"email": "ann@example.org", "password": PASSWORD},
        timeout=30,
    )
    access_token = login.json()["access_token"]
    page = browser.new_page()
    watched = watch(page)
    page.goto(f"{origin}/verify-email", wait_until="networkidle")
    _with_authenticator(page)

    result: dict[str, Any] = page.evaluate(
        "async ([token, password]) => {"
        + _snippets()
        + """
        const added = await addPasskey(token, password, "Chromium");
        const tokens = await signInWithPasskey();
        return { added, tokens };
        }""",
        [access_token, PASSWORD],
    )

    assert result["added"]["name"] == "Chromium"
    tokens = result["tokens"]
    me = httpx.get(
        f"{api}/api/auth/sessions",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=30,
    )
    (current,) = [s for s in me.json()["items"] if s["current"]]
    assert current["amr"] == ["hwk"]
    assert watched.api_calls() == [
        "/api/auth/passkeys/register/options",
        "/api/auth/passkeys/register",
        "/api/auth/passkeys/login/options",
        "/api/auth/passkeys/login",
    ]
    watched.assert_clean(origin)
