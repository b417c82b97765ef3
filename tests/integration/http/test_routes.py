"""Every route of the contract with each of its status codes, through the real HTTP stack."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar import Litestar
from litestar.testing import TestClient

from tests.conftest import TEST_SECRET
from tests.integration.http.conftest import AppFactory
from tests.integration.http.helpers import OTHER_PASSWORD, PASSWORD, Api, bearer
from usermgmt import Settings
from usermgmt.adapters.tokens import secret_key_id

PROBLEM = "application/problem+json"
USER_FIELDS = {
    "id",
    "email",
    "name",
    "role",
    "is_active",
    "email_verified",
    "pending_email",
    "created_at",
    "updated_at",
    "mfa_enabled",
}


def assert_problem(response: object, status: int) -> dict[str, object]:
    """Check that *response* is an RFC 9457 problem with *status*; return its body."""
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == PROBLEM  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    return body


# --- the service -----------------------------------------------------------------------------


def test_root_names_the_service_its_version_and_docs(client: TestClient[Litestar]) -> None:
    """``GET /`` says what answers and where the documentation is."""
    response = client.get("/")

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "usermgmt"
    assert body["docs"] == "/schema"
    assert body["version"]


def test_health_is_ok_while_the_database_answers(client: TestClient[Litestar]) -> None:
    """``/health`` checks the database and is never cached."""
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert response.headers["cache-control"] == "no-store"


def test_schema_serves_interactive_docs_and_an_openapi_3_1_document(
    client: TestClient[Litestar],
) -> None:
    """``/schema`` is an HTML page; ``/schema/openapi.json`` the OpenAPI 3.1 document."""
    page = client.get("/schema")
    document = client.get("/schema/openapi.json")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert document.status_code == 200
    assert document.json()["openapi"].startswith("3.1")


def test_jwks_is_published_only_with_an_ed25519_key(
    start_app: AppFactory, http_settings: Settings, tmp_path: Path
) -> None:
    """With a shared secret there is no key set; with an Ed25519 key, its public half is served."""
    key = Ed25519PrivateKey.generate()
    pem = tmp_path / "signing.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with_secret = start_app()
    with_key = start_app(settings=attrs.evolve(http_settings, jwt_secret=None, jwt_private_key=pem))

    without = with_secret.get("/.well-known/jwks.json")
    published = with_key.get("/.well-known/jwks.json")

    assert_problem(without, 404)
    assert published.status_code == 200
    [jwk] = published.json()["keys"]
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    assert "d" not in jwk


def test_tokens_signed_with_the_ed25519_key_are_accepted(
    start_app: AppFactory, http_settings: Settings, tmp_path: Path
) -> None:
    """Login and ``/me`` work end to end when access tokens are EdDSA-signed."""
    pem = tmp_path / "signing.pem"
    pem.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    client = start_app(settings=attrs.evolve(http_settings, jwt_secret=None, jwt_private_key=pem))
    client.post("/api/users/register", json={"email": "ed@example.org", "password": PASSWORD})
    tokens = client.post(
        "/api/auth/login", json={"email": "ed@example.org", "password": PASSWORD}
    ).json()

    response = client.get("/api/auth/me", headers=bearer(tokens["access_token"]))

    assert jwt.get_unverified_header(tokens["access_token"])["alg"] == "EdDSA"
    assert response.status_code == 200


# --- the framework's own errors --------------------------------------------------------------


def test_an_unknown_path_is_a_404_problem(client: TestClient[Litestar]) -> None:
    """Paths that name nothing answer 404 in problem form, also under ``/schema``."""
    assert_problem(client.get("/api/nothing-here"), 404)
    assert_problem(client.get("/schema/nothing-here"), 404)


def test_a_wrong_method_is_a_405_problem_naming_the_allowed_ones(
    client: TestClient[Litestar],
) -> None:
    """``DELETE /api/auth/me`` is refused with ``Allow``."""
    response = client.delete("/api/auth/me")

    assert_problem(response, 405)
    assert "GET" in response.headers["allow"]


def test_unparseable_json_is_a_400_problem(client: TestClient[Litestar]) -> None:
    """Bytes that are not JSON get 400, before anything else is looked at."""
    response = client.post(
        "/api/users/register",
        content=b'{"email": "ann@example.org", ',
        headers={"content-type": "application/json"},
    )

    body = assert_problem(response, 400)
    assert body["type"] == "/problems/malformed-body"


def test_an_empty_body_is_a_400_problem(client: TestClient[Litestar]) -> None:
    """A route that needs a JSON object refuses an empty body as unparseable."""
    assert_problem(client.post("/api/auth/login", content=b""), 400)


def test_a_body_over_64_kib_is_a_413_problem(client: TestClient[Litestar]) -> None:
    """An oversized body is refused before it is parsed or hashed."""
    padding = "x" * (64 * 1024)
    response = client.post(
        "/api/users/register",
        json={"email": "big@example.org", "password": PASSWORD, "name": padding},
    )

    assert_problem(response, 413)


def test_a_body_of_exactly_64_kib_is_read(client: TestClient[Litestar]) -> None:
    """The limit is inclusive: 65,536 bytes are parsed (and then refused for their content)."""
    head = b'{"email": "edge@example.org", "password": "x", "name": "'
    body = head + b"n" * (64 * 1024 - len(head) - 2) + b'"}'

    response = client.post(
        "/api/users/register", content=body, headers={"content-type": "application/json"}
    )

    assert len(body) == 64 * 1024
    assert_problem(response, 422)


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe\x00garbage",
        b"[" * 10_000,
        b'{"email": "\\ud800@example.org", "password": "a"}',
        b'{"email": null, "password": null}',
        b"1e999999",
    ],
    ids=["not-utf8", "deep-nesting", "lone-surrogate", "nulls", "huge-number"],
)
def test_odd_bodies_never_cause_a_server_error(client: TestClient[Litestar], body: bytes) -> None:
    """Whatever bytes a client sends, the answer is a 4xx problem, never a 500."""
    response = client.post(
        "/api/auth/login", content=body, headers={"content-type": "application/json"}
    )

    assert 400 <= response.status_code < 500
    assert response.headers["content-type"] == PROBLEM
    assert "Traceback" not in response.text


# --- registration ----------------------------------------------------------------------------


def test_register_answers_201_with_the_user_and_its_location(api: Api) -> None:
    """A new user is shown without any password or hash, and ``Location`` names it."""
    response = api.client.post(
        "/api/users/register",
        json={"email": "Ann@Example.org", "password": PASSWORD, "name": "Ann"},
    )

    assert response.status_code == 201
    body = response.json()
    assert set(body) == USER_FIELDS
    assert body["email"] == "ann@example.org"
    assert (body["name"], body["role"], body["is_active"]) == ("Ann", "user", True)
    assert response.headers["location"] == f"/api/users/{body['id']}"
    assert PASSWORD not in response.text
    assert "argon2" not in response.text
    datetime.fromisoformat(body["created_at"])


def test_register_refuses_a_taken_email_in_any_letter_case_with_409(api: Api) -> None:
    """Emails are unique whatever their letter case."""
    api.register("ann@example.org")

    response = api.client.post(
        "/api/users/register", json={"email": "ANN@example.ORG", "password": OTHER_PASSWORD}
    )

    body = assert_problem(response, 409)
    assert body["type"] == "/problems/email-taken"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "ann@example.org", "password": "short"}, "password"),
        ({"email": "ann@example.org", "password": "password123"}, "password"),
        ({"email": "ann@example.org", "password": "ann@example.org"}, "password"),
        ({"email": "a" * 243 + "@example.org", "password": PASSWORD}, "email"),
        ({"email": "ann@example.org", "password": PASSWORD, "name": "n" * 201}, "name"),
        ({"email": "ann@example.org", "password": PASSWORD, "name": "a\u0000b"}, "name"),
        ({"email": "ann@example.org", "password": "p" * 1025}, "password"),
        ({"email": "ann@example.org"}, "password"),
        ({"email": 42, "password": PASSWORD}, "email"),
        ({"email": "ann@example.org", "password": PASSWORD, "role": "admin"}, "role"),
        ([], "body"),
    ],
    ids=[
        "invalid-email",
        "short-password",
        "common-password",
        "password-is-email",
        "email-over-254",
        "name-over-200",
        "name-with-nul",
        "password-over-1024",
        "missing-password",
        "wrong-type",
        "unknown-field",
        "not-an-object",
    ],
)
def test_register_refuses_invalid_values_with_422_naming_the_field(
    client: TestClient[Litestar], body: object, field: str
) -> None:
    """Parseable but refused input gets 422 with ``errors`` naming the field."""
    response = client.post("/api/users/register", json=body)

    problem = assert_problem(response, 422)
    assert problem["errors"] == [{"field": field, "message": problem["errors"][0]["message"]}]  # type: ignore[index]
    assert problem["errors"][0]["message"]  # type: ignore[index]


def test_a_long_password_is_accepted_and_never_truncated(api: Api) -> None:
    """A 100-character password works, and its 72-character prefix does not."""
    password = "a long passphrase " * 5 + "0123456789"
    api.register("long@example.org", password)

    whole = api.client.post(
        "/api/auth/login", json={"email": "long@example.org", "password": password}
    )
    prefix = api.client.post(
        "/api/auth/login", json={"email": "long@example.org", "password": password[:72]}
    )

    assert len(password) == 100
    assert whole.status_code == 200
    assert_problem(prefix, 401)


# --- login -----------------------------------------------------------------------------------


def test_login_returns_an_uncached_bearer_token_pair(api: Api) -> None:
    """A right email and password get the pair, with ``Cache-Control: no-store``."""
    api.register("ann@example.org")

    response = api.client.post(
        "/api/auth/login", json={"email": "ANN@example.org", "password": PASSWORD}
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "access_token",
        "refresh_token",
        "token_type",
        "expires_in",
        "device_token",
    }
    assert (body["token_type"], body["expires_in"]) == ("bearer", 900)
    assert len(body["device_token"]) == 43
    assert response.headers["cache-control"] == "no-store"


def test_every_login_failure_answers_one_identical_401(api: Api) -> None:
    """Unknown email, wrong password, deleted and deactivated users look exactly alike."""
    admin = api.admin()
    api.register("known@example.org")
    deleted = api.account("deleted@example.org")
    inactive = api.register("inactive@example.org")
    api.client.delete(f"/api/users/{deleted.id}", headers=deleted.headers)
    api.client.patch(
        f"/api/users/{inactive['id']}", json={"is_active": False}, headers=admin.headers
    )

    answers = [
        api.client.post("/api/auth/login", json={"email": email, "password": password})
        for email, password in [
            ("nobody@example.org", PASSWORD),
            ("known@example.org", OTHER_PASSWORD),
            ("deleted@example.org", PASSWORD),
            ("inactive@example.org", PASSWORD),
            ("not an email", PASSWORD),
        ]
    ]

    assert {r.status_code for r in answers} == {401}
    assert len({r.content for r in answers}) == 1
    assert {r.headers["www-authenticate"] for r in answers} == {"Bearer"}
    assert answers[0].json()["type"] == "/problems/invalid-credentials"


# --- refresh and logout ----------------------------------------------------------------------


def test_refresh_returns_a_new_pair(api: Api) -> None:
    """A live refresh token is exchanged for a new access and refresh token."""
    ann = api.account("ann@example.org")

    response = api.client.post("/api/auth/refresh", json={"refresh_token": ann.refresh_token})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["refresh_token"] != ann.refresh_token
    assert response.headers["cache-control"] == "no-store"
    assert api.client.get("/api/auth/me", headers=bearer(body["access_token"])).status_code == 200


def test_refresh_with_an_unknown_token_is_401(client: TestClient[Litestar]) -> None:
    """A token the service never issued is refused."""
    response = client.post("/api/auth/refresh", json={"refresh_token": "made-up"})

    body = assert_problem(response, 401)
    assert body["type"] == "/problems/invalid-token"
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_logout_answers_204_and_both_tokens_die(api: Api) -> None:
    """After logout the access token and the refresh token are refused at once."""
    ann = api.account("ann@example.org")

    response = api.client.post("/api/auth/logout", headers=ann.headers)

    assert response.status_code == 204
    assert response.content == b""
    assert_problem(api.me(ann), 401)
    assert_problem(
        api.client.post("/api/auth/refresh", json={"refresh_token": ann.refresh_token}), 401
    )


def test_logout_ends_only_this_session_by_default(api: Api) -> None:
    """Another session of the same user survives a plain logout."""
    first = api.account("ann@example.org")
    second = api.login("ann@example.org")

    api.client.post("/api/auth/logout", headers=first.headers)

    assert api.client.get("/api/auth/me", headers=bearer(second["access_token"])).status_code == 200


def test_logout_of_all_sessions_ends_every_session(api: Api) -> None:
    """``{"all_sessions": true}`` revokes every session of the user."""
    first = api.account("ann@example.org")
    second = api.login("ann@example.org")

    response = api.client.post(
        "/api/auth/logout", json={"all_sessions": True}, headers=first.headers
    )

    assert response.status_code == 204
    assert_problem(api.client.get("/api/auth/me", headers=bearer(second["access_token"])), 401)


def test_logout_without_a_token_is_401(client: TestClient[Litestar]) -> None:
    """Logging out needs the session's access token."""
    response = client.post("/api/auth/logout")

    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


# --- the current user ------------------------------------------------------------------------


def test_me_returns_the_current_user(api: Api) -> None:
    """``/me`` shows the token's user as stored now."""
    ann = api.account("ann@example.org")

    response = api.me(ann)

    assert response.status_code == 200
    assert response.json()["id"] == ann.id
    assert set(response.json()) == USER_FIELDS


def _forged(claims: dict[str, object], key: str = TEST_SECRET, alg: str = "HS256") -> str:
    now = datetime.now(UTC)
    payload = {
        "iss": "usermgmt",
        "aud": "usermgmt",
        "sub": "00000000-0000-4000-8000-000000000000",
        "sid": "00000000-0000-4000-8000-000000000000",
        "jti": "00000000-0000-4000-8000-000000000000",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "role": "admin",
    } | claims
    # Named as the service's own key, so that only the changed claim or key can be the defect.
    headers = {"typ": "at+jwt", "kid": secret_key_id(TEST_SECRET.encode())}
    return jwt.encode(payload, key, algorithm=alg, headers=headers)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Basic YWxhZGRpbjpvcGVuc2VzYW1l",
        "Bearer not.a.jwt",
        "Bearer " + "a" * 5000,
        "Bearer " + _forged({"aud": "someone-else"}),
        "Bearer " + _forged({"iss": "someone-else"}),
        "Bearer " + _forged({"exp": 1}),
        "Bearer " + _forged({}, key="a-different-secret-of-32-bytes-or-more"),
        "Bearer " + jwt.encode({"sub": "x"}, None, algorithm="none"),
    ],
    ids=[
        "missing",
        "empty",
        "basic",
        "garbage",
        "huge",
        "wrong-audience",
        "wrong-issuer",
        "expired",
        "wrong-key",
        "alg-none",
    ],
)
def test_me_refuses_a_missing_or_bad_token_with_401_and_a_bearer_challenge(
    client: TestClient[Litestar], header: str | None
) -> None:
    """No, malformed, forged or expired tokens all get 401 with ``WWW-Authenticate``."""
    headers = {"Authorization": header} if header is not None else {}

    response = client.get("/api/auth/me", headers=headers)

    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_validly_signed_token_of_no_live_session_is_refused(client: TestClient[Litestar]) -> None:
    """Signature and claims are not enough: the session must exist in the database."""
    response = client.get("/api/auth/me", headers=bearer(_forged({})))

    assert_problem(response, 401)


# --- listing ---------------------------------------------------------------------------------


def test_admin_lists_users_by_numbered_page_oldest_first(api: Api) -> None:
    """Pages carry the total and the page count; users come in creation order."""
    admin = api.admin()
    emails = [f"user{i}@example.org" for i in range(5)]
    for email in emails:
        api.register(email)

    first = api.client.get("/api/users/?page=1&per_page=4", headers=admin.headers).json()
    second = api.client.get("/api/users/?page=2&per_page=4", headers=admin.headers).json()

    assert (first["page"], first["per_page"], first["total"], first["pages"]) == (1, 4, 6, 2)
    listed = [u["email"] for u in first["items"] + second["items"]]
    assert listed == ["admin@example.org", *emails]


def test_list_defaults_to_the_first_page_of_twenty(api: Api) -> None:
    """Without parameters, page 1 of 20 per page."""
    admin = api.admin()

    body = api.client.get("/api/users", headers=admin.headers).json()

    assert (body["page"], body["per_page"], body["total"]) == (1, 20, 1)


def test_a_page_past_the_end_is_empty(api: Api) -> None:
    """Asking beyond the last page is not an error; it lists nobody."""
    admin = api.admin()

    body = api.client.get("/api/users/?page=9", headers=admin.headers).json()

    assert body["items"] == []
    assert body["total"] == 1


def test_admin_walks_users_by_cursor_seeing_each_once(api: Api) -> None:
    """``?cursor=`` starts a walk; ``next_cursor`` continues it; null ends it."""
    admin = api.admin()
    for i in range(4):
        api.register(f"user{i}@example.org")
    seen: list[str] = []
    cursor = ""

    while cursor is not None:
        body = api.client.get(
            "/api/users/", params={"cursor": cursor, "per_page": 2}, headers=admin.headers
        ).json()
        assert set(body) == {"items", "next_cursor"}
        seen.extend(u["email"] for u in body["items"])
        cursor = body["next_cursor"]

    assert seen == ["admin@example.org", *(f"user{i}@example.org" for i in range(4))]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("page=0", "page"),
        ("page=abc", "page"),
        ("cursor=forged", "cursor"),
        ("page=2&cursor=", "cursor"),
    ],
)
def test_list_refuses_bad_query_parameters_with_422(api: Api, query: str, field: str) -> None:
    """Out-of-range, malformed or contradictory parameters name the parameter."""
    admin = api.admin()

    response = api.client.get(f"/api/users/?{query}", headers=admin.headers)

    problem = assert_problem(response, 422)
    assert [e["field"] for e in problem["errors"]] == [field]  # type: ignore[attr-defined]


def test_an_altered_cursor_is_refused_with_422(api: Api) -> None:
    """A cursor the service handed out, with one character changed, is refused, not followed."""
    admin = api.admin()
    api.register("other@example.org")
    cursor = api.client.get(
        "/api/users/", params={"cursor": "", "per_page": 1}, headers=admin.headers
    ).json()["next_cursor"]
    altered = cursor[:10] + ("B" if cursor[10] == "A" else "A") + cursor[11:]

    response = api.client.get(
        "/api/users/", params={"cursor": altered, "per_page": 1}, headers=admin.headers
    )

    problem = assert_problem(response, 422)
    assert [e["field"] for e in problem["errors"]] == ["cursor"]  # type: ignore[attr-defined]


def test_list_without_a_token_is_401(client: TestClient[Litestar]) -> None:
    """Listing needs authentication before anything else."""
    assert_problem(client.get("/api/users/"), 401)


# --- one user --------------------------------------------------------------------------------


def test_an_admin_gets_404_for_an_unknown_or_deleted_user(api: Api) -> None:
    """Unknown and soft-deleted users are not found."""
    admin = api.admin()
    gone = api.account("gone@example.org")
    api.client.delete(f"/api/users/{gone.id}", headers=gone.headers)

    unknown = api.client.get(
        "/api/users/00000000-0000-4000-8000-000000000000", headers=admin.headers
    )
    deleted = api.client.get(f"/api/users/{gone.id}", headers=admin.headers)

    assert_problem(unknown, 404)
    assert_problem(deleted, 404)


def test_a_user_gets_403_for_any_id_but_their_own_existing_or_not(api: Api) -> None:
    """A plain user cannot probe which ids exist."""
    ann = api.account("ann@example.org")
    bob = api.register("bob@example.org")

    existing = api.client.get(f"/api/users/{bob['id']}", headers=ann.headers)
    unknown = api.client.get("/api/users/00000000-0000-4000-8000-000000000000", headers=ann.headers)

    assert_problem(existing, 403)
    assert_problem(unknown, 403)
    assert existing.json()["detail"] == unknown.json()["detail"]


def test_an_id_that_is_not_a_uuid_names_nothing(api: Api) -> None:
    """A malformed id is an unknown path: 404 for everyone."""
    ann = api.account("ann@example.org")

    assert_problem(api.client.get("/api/users/not-a-uuid", headers=ann.headers), 404)


# --- updates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_a_user_updates_their_name_and_email(api: Api, method: str) -> None:
    """PUT and PATCH are both partial updates; absent fields stay.

    The name changes at once; one's own new email (proven by the current
    password) waits for its mailed link as ``pending_email``.
    """
    ann = api.account("ann@example.org")

    response = api.client.request(
        method,
        f"/api/users/{ann.id}",
        json={"name": "Ann B.", "email": "Ann.B@example.org", "current_password": PASSWORD},
        headers=ann.headers,
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["email"], body["role"]) == ("Ann B.", "ann@example.org", "user")
    assert body["pending_email"] == "ann.b@example.org"
    assert api.me(ann).json()["pending_email"] == "ann.b@example.org"


def test_an_update_to_a_taken_email_is_409(api: Api) -> None:
    """An admin cannot move a user onto another live user's email, in any letter case.

    (One's own change waits for a link and answers alike either way: see
    test_verification.py.)
    """
    admin = api.admin()
    ann = api.account("ann@example.org")
    api.register("bob@example.org")

    response = api.client.patch(
        f"/api/users/{ann.id}", json={"email": "BOB@example.org"}, headers=admin.headers
    )

    assert_problem(response, 409)


def test_an_update_refuses_bad_values_with_422(api: Api) -> None:
    """Invalid, unknown and wrong-typed fields are named."""
    ann = api.account("ann@example.org")

    response = api.client.patch(f"/api/users/{ann.id}", json={"email": "nope"}, headers=ann.headers)
    unknown = api.client.patch(
        f"/api/users/{ann.id}", json={"is_verified": True}, headers=ann.headers
    )
    typed = api.client.patch(f"/api/users/{ann.id}", json={"role": "root"}, headers=ann.headers)

    assert [e["field"] for e in assert_problem(response, 422)["errors"]] == ["email"]  # type: ignore[attr-defined]
    assert [e["field"] for e in assert_problem(unknown, 422)["errors"]] == ["is_verified"]  # type: ignore[attr-defined]
    assert [e["field"] for e in assert_problem(typed, 422)["errors"]] == ["role"]  # type: ignore[attr-defined]


def test_changing_ones_own_password_needs_the_current_one(api: Api) -> None:
    """Missing ``current_password`` is 422, a wrong one 403, the right one 200."""
    ann = api.account("ann@example.org")
    url = f"/api/users/{ann.id}"

    missing = api.client.patch(url, json={"password": OTHER_PASSWORD}, headers=ann.headers)
    wrong = api.client.patch(
        url,
        json={"password": OTHER_PASSWORD, "current_password": "not my password"},
        headers=ann.headers,
    )
    right = api.client.patch(
        url, json={"password": OTHER_PASSWORD, "current_password": PASSWORD}, headers=ann.headers
    )

    assert [e["field"] for e in assert_problem(missing, 422)["errors"]] == ["current_password"]  # type: ignore[attr-defined]
    assert assert_problem(wrong, 403)["type"] == "/problems/wrong-password"
    assert right.status_code == 200
    assert api.login("ann@example.org", OTHER_PASSWORD)["token_type"] == "bearer"


def test_a_new_password_ends_every_other_session_but_keeps_this_one(api: Api) -> None:
    """The changer's session lives on; the user's other sessions end at once."""
    ann = api.account("ann@example.org")
    elsewhere = api.login("ann@example.org")

    api.client.patch(
        f"/api/users/{ann.id}",
        json={"password": OTHER_PASSWORD, "current_password": PASSWORD},
        headers=ann.headers,
    )

    assert api.me(ann).status_code == 200
    assert_problem(api.client.get("/api/auth/me", headers=bearer(elsewhere["access_token"])), 401)


def test_a_user_cannot_change_their_own_role_or_active_state(api: Api) -> None:
    """``role`` and ``is_active`` are admin-only, even on one's own account."""
    ann = api.account("ann@example.org")

    promote = api.client.patch(f"/api/users/{ann.id}", json={"role": "admin"}, headers=ann.headers)
    deactivate = api.client.patch(
        f"/api/users/{ann.id}", json={"is_active": False}, headers=ann.headers
    )

    assert_problem(promote, 403)
    assert_problem(deactivate, 403)
    assert api.me(ann).json()["role"] == "user"


def test_an_admin_deactivation_ends_every_session_at_once(api: Api) -> None:
    """A deactivated user's tokens are refused on the very next request."""
    admin = api.admin()
    ann = api.account("ann@example.org")

    response = api.client.patch(
        f"/api/users/{ann.id}", json={"is_active": False}, headers=admin.headers
    )

    assert response.json()["is_active"] is False
    assert_problem(api.me(ann), 401)


def test_a_role_change_applies_to_tokens_already_issued(api: Api) -> None:
    """The role is read from the database on every request, not from the token."""
    admin = api.admin()
    ann = api.account("ann@example.org")

    before = api.client.get("/api/users/", headers=ann.headers)
    api.client.patch(f"/api/users/{ann.id}", json={"role": "admin"}, headers=admin.headers)
    after = api.client.get("/api/users/", headers=ann.headers)

    assert_problem(before, 403)
    assert after.status_code == 200


def test_the_last_active_admin_can_be_neither_demoted_nor_deactivated(api: Api) -> None:
    """Either change would leave no admin: 409."""
    admin = api.admin()
    url = f"/api/users/{admin.id}"

    demote = api.client.patch(url, json={"role": "user"}, headers=admin.headers)
    deactivate = api.client.put(url, json={"is_active": False}, headers=admin.headers)

    assert assert_problem(demote, 409)["type"] == "/problems/last-admin"
    assert_problem(deactivate, 409)


# --- deletion --------------------------------------------------------------------------------


def test_delete_is_a_soft_delete_that_ends_everything_and_frees_the_email(api: Api) -> None:
    """204; login refused, tokens dead, gone from reads and lists, email reusable."""
    admin = api.admin()
    ann = api.account("ann@example.org")

    response = api.client.delete(f"/api/users/{ann.id}", headers=admin.headers)

    assert response.status_code == 204
    assert_problem(api.me(ann), 401)
    assert_problem(
        api.client.post("/api/auth/login", json={"email": ann.email, "password": PASSWORD}), 401
    )
    assert_problem(api.client.get(f"/api/users/{ann.id}", headers=admin.headers), 404)
    listed = api.client.get("/api/users/", headers=admin.headers).json()
    assert [u["email"] for u in listed["items"]] == ["admin@example.org"]
    assert api.register("ann@example.org")["id"] != ann.id


def test_deleting_an_unknown_user_is_404(api: Api) -> None:
    """There is nothing to delete."""
    admin = api.admin()

    response = api.client.delete(
        "/api/users/00000000-0000-4000-8000-000000000000", headers=admin.headers
    )

    assert_problem(response, 404)


def test_the_last_active_admin_cannot_be_deleted(api: Api) -> None:
    """Deleting the only admin is a 409, and the admin stays."""
    admin = api.admin()

    response = api.client.delete(f"/api/users/{admin.id}", headers=admin.headers)

    assert_problem(response, 409)
    assert api.me(admin).status_code == 200


# --- restore ---------------------------------------------------------------------------------


def test_an_admin_restores_a_deleted_user_whose_old_sessions_stay_ended(api: Api) -> None:
    """200 and the user, active and readable again; a new login works, the old token does not."""
    admin = api.admin()
    ann = api.account("ann@example.org")
    api.client.delete(f"/api/users/{ann.id}", headers=ann.headers)

    response = api.client.post(f"/api/users/{ann.id}/restore", headers=admin.headers)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == USER_FIELDS
    assert (body["id"], body["email"], body["is_active"]) == (ann.id, ann.email, True)
    assert api.client.get(f"/api/users/{ann.id}", headers=admin.headers).status_code == 200
    assert_problem(api.me(ann), 401)
    assert_problem(
        api.client.post("/api/auth/refresh", json={"refresh_token": ann.refresh_token}), 401
    )
    assert api.login(ann.email)["token_type"] == "bearer"


def test_restoring_an_unknown_or_live_user_is_404(api: Api) -> None:
    """An id nobody has, and a user who is not deleted, are both "no deleted user here"."""
    admin = api.admin()
    ann = api.account("ann@example.org")

    unknown = api.client.post(
        "/api/users/00000000-0000-4000-8000-000000000000/restore", headers=admin.headers
    )
    live = api.client.post(f"/api/users/{ann.id}/restore", headers=admin.headers)

    assert assert_problem(unknown, 404)["type"] == "/problems/not-found"
    assert assert_problem(live, 404)["type"] == "/problems/not-found"
    assert api.me(ann).status_code == 200


def test_restoring_a_user_whose_email_was_taken_meanwhile_is_409(api: Api) -> None:
    """Two live accounts never share an email: the old one stays deleted."""
    admin = api.admin()
    ann = api.account("ann@example.org")
    api.client.delete(f"/api/users/{ann.id}", headers=ann.headers)
    api.register("ANN@example.org")

    response = api.client.post(f"/api/users/{ann.id}/restore", headers=admin.headers)

    assert assert_problem(response, 409)["type"] == "/problems/email-taken"
    assert_problem(api.client.get(f"/api/users/{ann.id}", headers=admin.headers), 404)


def test_only_admins_restore_and_plain_users_learn_nothing(api: Api) -> None:
    """A plain user gets one 403 for a deleted, a live and an unknown id; no token is 401."""
    bob = api.account("bob@example.org")
    gone = api.account("gone@example.org")
    api.client.delete(f"/api/users/{gone.id}", headers=gone.headers)

    answers = [
        api.client.post(f"/api/users/{target}/restore", headers=bob.headers)
        for target in (gone.id, bob.id, "00000000-0000-4000-8000-000000000000")
    ]
    anonymous = api.client.post(f"/api/users/{gone.id}/restore")

    for response in answers:
        assert_problem(response, 403)
    assert len({r.content for r in answers}) == 1
    assert_problem(anonymous, 401)
    assert_problem(api.client.post("/api/users/not-a-uuid/restore", headers=bob.headers), 404)


def test_a_restored_user_is_active_again_even_if_deactivated_before(api: Api) -> None:
    """A user deactivated, then deleted, comes back active and signs in."""
    admin = api.admin()
    ann = api.register("ann@example.org")
    api.client.patch(f"/api/users/{ann['id']}", json={"is_active": False}, headers=admin.headers)
    api.client.delete(f"/api/users/{ann['id']}", headers=admin.headers)

    response = api.client.post(f"/api/users/{ann['id']}/restore", headers=admin.headers)

    assert response.json()["is_active"] is True
    assert api.login(ann["email"])["token_type"] == "bearer"


# --- CORS ------------------------------------------------------------------------------------


def test_cors_is_closed_unless_origins_are_configured(
    start_app: AppFactory, client: TestClient[Litestar]
) -> None:
    """Without origins no CORS header is sent; a configured origin is allowed, others not."""
    opened = start_app(cors_origins=("https://app.example.org",))
    preflight = {
        "Origin": "https://app.example.org",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }

    closed_answer = client.options("/api/auth/login", headers=preflight)
    allowed = opened.options("/api/auth/login", headers=preflight)
    stranger = opened.get("/", headers={"Origin": "https://evil.example.net"})

    assert "access-control-allow-origin" not in closed_answer.headers
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.org"
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-origin" not in stranger.headers
