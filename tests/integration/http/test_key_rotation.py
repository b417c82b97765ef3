"""Key rotation end to end: real ``serve`` processes restarted with new key lists.

Each phase of the documented procedure is one restart of the server on the
same database: publish the new key as a verifier, make it the signer, retire
the old one. Tokens issued before a restart are presented after it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import attrs
import httpx
import jwt
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.conftest import TEST_SECRET
from tests.integration.http.conftest import AppFactory
from tests.integration.http.helpers import PASSWORD, Api, bearer
from tests.integration.http.server import Served, serving
from usermgmt import Settings, UserManagement
from usermgmt.adapters.tokens import secret_key_id

EMAIL = "rotation@example.org"
OLD_SECRET = "the-old-hs256-secret-of-at-least-32-bytes"
NEW_SECRET = "the-new-hs256-secret-of-at-least-32-bytes"


@attrs.frozen
class Rotation:
    """Restarts ``serve`` on one database with a given signing environment."""

    database_url: str
    data_dir: Path

    @contextmanager
    def serve(self, **keys: str | None) -> Iterator[Served]:
        """Run ``serve`` with exactly the signing variables *keys* (others unset)."""
        env: Mapping[str, str | None] = {
            "USERMGMT_JWT_SECRET": None,
            "USERMGMT_JWT_PRIVATE_KEY": None,
            "USERMGMT_JWT_PREVIOUS_SECRETS": None,
            "USERMGMT_DATA_DIR": str(self.data_dir),
            **{f"USERMGMT_{name.upper()}": value for name, value in keys.items()},
        }
        args = ("--database-url", self.database_url, "--no-migrate")
        with serving(*args, env=env, log_dir=self.data_dir) as served:
            yield served


@pytest.fixture
def rotation(empty_database: str, tmp_path: Path) -> Rotation:
    """Restartable servers on the emptied test database."""
    return Rotation(empty_database, tmp_path)


def _login(server: Served) -> dict[str, str]:
    response = httpx.post(
        f"{server.url}/api/auth/login", json={"email": EMAIL, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    tokens: dict[str, str] = response.json()
    return tokens


def _me(server: Served, access_token: str) -> int:
    return httpx.get(f"{server.url}/api/auth/me", headers=bearer(access_token)).status_code


def _kid(token: str) -> str:
    kid: str = jwt.get_unverified_header(token)["kid"]
    return kid


def _published(server: Served) -> list[str]:
    response = httpx.get(f"{server.url}/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
    return [key["kid"] for key in response.json()["keys"]]


@pytest.mark.slow
def test_ed25519_keys_rotate_across_restarts(rotation: Rotation, tmp_path: Path) -> None:
    """A signs; then B signs and A verifies; then A is gone and its tokens are refused."""
    key_a, key_b = tmp_path / "a.pem", tmp_path / "b.pem"
    kid_a = UserManagement.generate_signing_key(key_a)
    kid_b = UserManagement.generate_signing_key(key_b)

    with rotation.serve(jwt_private_key=str(key_a)) as server:
        registered = httpx.post(
            f"{server.url}/api/users/register", json={"email": EMAIL, "password": PASSWORD}
        )
        assert registered.status_code == 201, registered.text
        first = _login(server)
        published_a = _published(server)

    with rotation.serve(jwt_private_key=f"{key_b},{key_a}") as server:
        old_token_while_both = _me(server, first["access_token"])
        second = _login(server)
        new_token_while_both = _me(server, second["access_token"])
        published_both = _published(server)

    with rotation.serve(jwt_private_key=str(key_b)) as server:
        old_token_after = _me(server, first["access_token"])
        new_token_after = _me(server, second["access_token"])
        published_b = _published(server)

    assert (_kid(first["access_token"]), published_a) == (kid_a, [kid_a])
    assert (old_token_while_both, new_token_while_both) == (200, 200)
    assert (_kid(second["access_token"]), published_both) == (kid_b, [kid_b, kid_a])
    assert (old_token_after, new_token_after) == (401, 200)
    assert published_b == [kid_b]


@pytest.mark.slow
def test_hs256_secrets_rotate_across_restarts(rotation: Rotation) -> None:
    """The old secret signs; then it only verifies; then it is gone and its tokens are refused."""
    with rotation.serve(jwt_secret=OLD_SECRET) as server:
        registered = httpx.post(
            f"{server.url}/api/users/register", json={"email": EMAIL, "password": PASSWORD}
        )
        assert registered.status_code == 201, registered.text
        first = _login(server)

    with rotation.serve(jwt_secret=NEW_SECRET, jwt_previous_secrets=OLD_SECRET) as server:
        old_token_while_both = _me(server, first["access_token"])
        second = _login(server)
        new_token_while_both = _me(server, second["access_token"])
        no_key_set = httpx.get(f"{server.url}/.well-known/jwks.json").status_code
        log = server.log()

    with rotation.serve(jwt_secret=NEW_SECRET) as server:
        old_token_after = _me(server, first["access_token"])
        new_token_after = _me(server, second["access_token"])

    assert _kid(first["access_token"]) == secret_key_id(OLD_SECRET.encode())
    assert (old_token_while_both, new_token_while_both) == (200, 200)
    assert _kid(second["access_token"]) == secret_key_id(NEW_SECRET.encode())
    assert (old_token_after, new_token_after) == (401, 200)
    assert no_key_set == 404
    assert OLD_SECRET not in log
    assert NEW_SECRET not in log


def test_the_jwks_route_lists_every_key_with_its_kid_and_a_cache_header(
    start_app: AppFactory, http_settings: Settings, tmp_path: Path
) -> None:
    """Both keys of "B,A", the signer first, public halves only, cacheable for 300 s."""
    key_a, key_b = tmp_path / "a.pem", tmp_path / "b.pem"
    kids = [UserManagement.generate_signing_key(key) for key in (key_b, key_a)]
    client: TestClient[Litestar] = start_app(
        settings=attrs.evolve(http_settings, jwt_secret=None, jwt_private_key=(key_b, key_a))
    )

    response = client.get("/.well-known/jwks.json")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
    keys = response.json()["keys"]
    assert [key["kid"] for key in keys] == kids
    assert all(set(key) == {"kty", "crv", "x", "kid", "alg", "use"} for key in keys)


def _resigned(token: str, header: dict[str, object], key: str = TEST_SECRET) -> str:
    """Return *token*'s claims under *header*, HMAC-signed with *key*."""
    payload = jwt.decode(token, options={"verify_signature": False})
    segments = [
        base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
        for part in (header, payload)
    ]
    signing_input = ".".join(segments).encode()
    signature = hmac.new(key.encode(), signing_input, hashlib.sha256).digest()
    return f"{signing_input.decode()}.{base64.urlsafe_b64encode(signature).decode().rstrip('=')}"


OUR_KID = secret_key_id(TEST_SECRET.encode())
OUR_HEADER = {"alg": "HS256", "typ": "at+jwt", "kid": OUR_KID}


def test_the_service_accepts_its_own_header_signed_outside_it(api: Api) -> None:
    """The control for the refusals below: the same claims under our own header are accepted."""
    account = api.account("header@example.org")

    response = api.client.get(
        "/api/auth/me", headers=bearer(_resigned(account.access_token, OUR_HEADER))
    )

    assert response.status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "HS256", "typ": "at+jwt", "kid": "retired-or-invented"},
        {"alg": "HS256", "typ": "at+jwt"},
        OUR_HEADER | {"jku": "https://attacker.example/keys"},
        OUR_HEADER | {"x5u": "https://attacker.example/cert"},
        OUR_HEADER | {"jwk": {"kty": "oct", "k": "AAAA"}},
        OUR_HEADER | {"crit": ["exp"]},
        OUR_HEADER | {"alg": "none"},
    ],
    ids=["unknown-kid", "no-kid", "jku", "x5u", "jwk", "crit", "alg-none"],
)
def test_a_token_naming_no_key_of_ours_or_pointing_elsewhere_is_a_401(
    api: Api, header: dict[str, object]
) -> None:
    """A live session's claims signed with the service's own secret, yet refused: 401 Bearer."""
    account = api.account("header@example.org")

    response = api.client.get(
        "/api/auth/me", headers=bearer(_resigned(account.access_token, header))
    )

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
