"""The OpenAPI document describes every route of the contract, its bodies and its errors."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.integration.http.conftest import AppFactory

PROBLEM = "application/problem+json"

# (method, path): (success status, error statuses, needs a bearer token)
ROUTES: dict[tuple[str, str], tuple[str, set[str], bool | None]] = {
    ("get", "/"): ("200", {"415"}, False),
    ("get", "/health"): ("200", {"415", "503"}, False),
    ("get", "/health/live"): ("200", {"415"}, False),
    ("get", "/health/ready"): ("200", {"415", "503"}, False),
    ("post", "/api/users/register"): (
        "201",
        {"400", "409", "413", "415", "422", "429", "503"},
        False,
    ),
    ("post", "/api/auth/login"): ("200", {"400", "401", "413", "415", "422", "429", "503"}, False),
    ("post", "/api/auth/refresh"): (
        "200",
        {"400", "401", "413", "415", "422", "429", "503"},
        False,
    ),
    ("post", "/api/auth/logout"): ("204", {"400", "401", "413", "415", "422", "429", "503"}, True),
    ("get", "/api/auth/me"): ("200", {"401", "415", "503"}, True),
    ("get", "/api/auth/events"): ("200", {"401", "415", "422", "503"}, True),
    ("get", "/api/audit"): ("200", {"401", "403", "415", "422", "503"}, True),
    ("get", "/api/auth/sessions"): ("200", {"401", "415", "503"}, True),
    ("delete", "/api/auth/sessions"): ("204", {"401", "415", "503"}, True),
    ("delete", "/api/auth/sessions/{session_id}"): ("204", {"401", "404", "415", "503"}, True),
    ("get", "/api/users/{user_id}/sessions"): ("200", {"401", "403", "404", "415", "503"}, True),
    ("delete", "/api/users/{user_id}/sessions"): (
        "204",
        {"401", "403", "404", "415", "503"},
        True,
    ),
    ("post", "/api/auth/password/forgot"): (
        "202",
        {"400", "413", "415", "422", "429", "503"},
        False,
    ),
    ("post", "/api/auth/password/reset"): (
        "204",
        {"400", "413", "415", "422", "429", "503"},
        False,
    ),
    ("post", "/api/auth/verify-email"): (
        "200",
        {"400", "409", "413", "415", "422", "429", "503"},
        False,
    ),
    # No body: the bearer's own address, so the token is optional (None).
    ("post", "/api/auth/verify-email/resend"): (
        "202",
        {"400", "401", "413", "415", "422", "429", "503"},
        None,
    ),
    ("get", "/api/users"): ("200", {"401", "403", "415", "422", "503"}, True),
    ("get", "/api/users/{user_id}"): ("200", {"401", "403", "404", "415", "503"}, True),
    ("put", "/api/users/{user_id}"): (
        "200",
        {"400", "401", "403", "404", "409", "413", "415", "422", "503"},
        True,
    ),
    ("patch", "/api/users/{user_id}"): (
        "200",
        {"400", "401", "403", "404", "409", "413", "415", "422", "503"},
        True,
    ),
    ("delete", "/api/users/{user_id}"): ("204", {"401", "403", "404", "409", "415", "503"}, True),
    ("post", "/api/users/{user_id}/restore"): (
        "200",
        {"401", "403", "404", "409", "415", "503"},
        True,
    ),
    ("post", "/api/auth/passkeys/register/options"): (
        "200",
        {"400", "401", "403", "413", "415", "422", "429", "503"},
        True,
    ),
    ("post", "/api/auth/passkeys/register"): (
        "201",
        {"400", "401", "413", "415", "422", "503"},
        True,
    ),
    ("get", "/api/auth/passkeys"): ("200", {"401", "415", "503"}, True),
    ("delete", "/api/auth/passkeys/{passkey_id}"): (
        "204",
        {"400", "401", "403", "404", "413", "415", "422", "503"},
        True,
    ),
    ("post", "/api/auth/passkeys/login/options"): (
        "200",
        {"400", "413", "415", "429", "503"},
        False,
    ),
    ("post", "/api/auth/passkeys/login"): (
        "200",
        {"400", "401", "413", "415", "422", "429", "503"},
        False,
    ),
    ("post", "/api/auth/mfa/totp"): (
        "200",
        {"400", "401", "403", "409", "413", "415", "422", "503"},
        True,
    ),
    ("delete", "/api/auth/mfa/totp"): (
        "204",
        {"400", "401", "403", "409", "413", "415", "422", "503"},
        True,
    ),
    ("post", "/api/auth/mfa/totp/confirm"): (
        "200",
        {"400", "401", "409", "413", "415", "422", "503"},
        True,
    ),
    ("post", "/api/auth/mfa/recovery-codes"): (
        "200",
        {"400", "401", "403", "409", "413", "415", "422", "503"},
        True,
    ),
    ("post", "/api/auth/mfa/verify"): (
        "200",
        {"400", "401", "413", "415", "422", "429", "503"},
        False,
    ),
    ("delete", "/api/users/{user_id}/mfa"): ("204", {"401", "403", "404", "415", "503"}, True),
}


@pytest.fixture
def document(client: TestClient[Litestar]) -> dict[str, Any]:
    """The served OpenAPI document."""
    response = client.get("/schema/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    operation: dict[str, Any] = document["paths"][path][method]
    return operation


def _schema(document: dict[str, Any], ref: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return schema


def test_every_route_of_the_contract_is_documented_and_nothing_else(
    document: dict[str, Any],
) -> None:
    """The document lists exactly the contract's operations, each with an id and a description."""
    documented = {
        (method, path)
        for path, item in document["paths"].items()
        for method in ("get", "post", "put", "patch", "delete")
        if method in item
    }

    assert documented == set(ROUTES)
    for method, path in ROUTES:
        operation = _operation(document, method, path)
        assert operation["operationId"], (method, path)
        assert operation["summary"], (method, path)
        assert operation["description"], (method, path)
    assert document["openapi"].startswith("3.1")


@pytest.mark.parametrize(("method", "path"), list(ROUTES), ids=[f"{m} {p}" for m, p in ROUTES])
def test_each_route_documents_its_success_and_error_responses(
    document: dict[str, Any], method: str, path: str
) -> None:
    """Every status a route can give is documented; errors are problem details."""
    success, failures, _ = ROUTES[method, path]
    responses = _operation(document, method, path)["responses"]

    assert set(responses) == {success} | failures
    for status in failures - ({"503"} if path.startswith("/health") else set()):
        schema = responses[status]["content"][PROBLEM]["schema"]
        expected = "ValidationProblem" if status == "422" else "Problem"
        assert schema["$ref"].endswith(f"/{expected}"), (status, schema)
    if "401" in failures:
        assert "WWW-Authenticate" in responses["401"]["headers"]
    if "429" in failures:
        assert "Retry-After" in responses["429"]["headers"]


@pytest.mark.parametrize(("method", "path"), list(ROUTES), ids=[f"{m} {p}" for m, p in ROUTES])
def test_routes_that_need_a_token_declare_bearer_security(
    document: dict[str, Any], method: str, path: str
) -> None:
    """Authenticated routes name the bearer scheme; public ones need nothing.

    A route where the token is optional (``None``) offers both: none, or the bearer.
    """
    *_, secured = ROUTES[method, path]

    security = _operation(document, method, path).get("security")

    if secured is None:
        assert security == [{}, {"BearerToken": []}]
    else:
        assert security == ([{"BearerToken": []}] if secured else None)


def test_the_bearer_scheme_is_http_bearer_with_jwt(document: dict[str, Any]) -> None:
    """The security scheme tells clients to send ``Authorization: Bearer <JWT>``."""
    scheme = document["components"]["securitySchemes"]["BearerToken"]

    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")


@pytest.mark.parametrize(
    ("method", "path", "schema", "required", "limits"),
    [
        (
            "post",
            "/api/users/register",
            "RegisterRequest",
            {"email", "password"},
            {"email": 254, "password": 1024, "name": 200},
        ),
        (
            "post",
            "/api/auth/login",
            "LoginRequest",
            {"email", "password"},
            {"email": 254, "device_token": 512},
        ),
        ("post", "/api/auth/refresh", "RefreshRequest", {"refresh_token"}, {}),
        ("patch", "/api/users/{user_id}", "UserUpdateRequest", set(), {}),
        ("put", "/api/users/{user_id}", "UserUpdateRequest", set(), {}),
    ],
)
def test_request_bodies_are_documented_with_their_fields_and_limits(
    document: dict[str, Any],
    method: str,
    path: str,
    schema: str,
    required: set[str],
    limits: dict[str, int],
) -> None:
    """Bodies name their schema, required fields and length caps."""
    body = _operation(document, method, path)["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"]
    described = _schema(document, ref)

    assert ref.endswith(f"/{schema}")
    assert body["required"] is True
    assert described["additionalProperties"] is False
    assert set(described.get("required", [])) == required
    for field, limit in limits.items():
        assert described["properties"][field]["maxLength"] == limit


def test_the_login_response_documents_the_device_token(document: dict[str, Any]) -> None:
    """A login answers the pair and the device token, or a second-factor challenge.

    A refresh answers the pair; the second step answers what a login does.
    """
    login = _operation(document, "post", "/api/auth/login")["responses"]["200"]
    refresh = _operation(document, "post", "/api/auth/refresh")["responses"]["200"]
    verify = _operation(document, "post", "/api/auth/mfa/verify")["responses"]["200"]
    one_of = login["content"]["application/json"]["schema"]["oneOf"]
    tokens, challenge = (_schema(document, shape["$ref"]) for shape in one_of)
    shown = {
        name: _schema(document, answer["content"]["application/json"]["schema"]["$ref"])
        for name, answer in (("refresh", refresh), ("verify", verify))
    }

    pair = {"access_token", "refresh_token", "token_type", "expires_in"}
    assert set(tokens["required"]) == {*pair, "device_token"}
    assert set(challenge["required"]) == {"mfa_required", "mfa_token", "expires_in", "methods"}
    assert set(shown["refresh"]["required"]) == pair
    assert set(shown["verify"]["required"]) == {*pair, "device_token"}


def test_the_logout_body_is_optional(document: dict[str, Any]) -> None:
    """``POST /api/auth/logout`` may be sent without a body (this session only)."""
    body = _operation(document, "post", "/api/auth/logout")["requestBody"]

    assert body["required"] is False


def test_responses_show_users_without_secrets_and_201_names_its_location(
    document: dict[str, Any],
) -> None:
    """The user schema has exactly the contract's fields; register documents ``Location``."""
    register = _operation(document, "post", "/api/users/register")["responses"]["201"]
    user = _schema(document, register["content"]["application/json"]["schema"]["$ref"])

    assert set(user["properties"]) == {
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
    assert "Location" in register["headers"]


def test_the_list_documents_both_page_shapes(document: dict[str, Any]) -> None:
    """Numbered pages and cursor pages are both described."""
    schema = _operation(document, "get", "/api/users")["responses"]["200"]["content"][
        "application/json"
    ]["schema"]

    refs = {option["$ref"].rsplit("/", 1)[-1] for option in schema["oneOf"]}

    assert refs == {"UserPageResponse", "UserSliceResponse"}


def test_no_generic_framework_error_schema_is_left(document: dict[str, Any]) -> None:
    """Every documented error is a problem detail, never the framework's own error shape."""
    for item in document["paths"].values():
        for operation in item.values():
            for status, response in operation.get("responses", {}).items():
                if int(status) >= 400:
                    schema = response["content"]
                    assert "status_code" not in str(schema), status


def test_new_passwords_carry_the_configured_minimum_and_the_maximum_length(
    start_app: AppFactory,
) -> None:
    """``minLength`` comes from the running settings; a password being checked has none."""
    document = start_app(password_min_length=15).get("/schema/openapi.json").json()
    schemas = document["components"]["schemas"]

    for body in ("RegisterRequest", "UserUpdateRequest"):
        password = schemas[body]["properties"]["password"]
        assert (password["minLength"], password["maxLength"]) == (15, 1024), body
        assert "NFKC" in password["description"]
    assert "minLength" not in schemas["LoginRequest"]["properties"]["password"]
    assert "minLength" not in schemas["UserUpdateRequest"]["properties"]["current_password"]


def test_the_update_body_says_a_new_password_of_ones_own_needs_current_password(
    document: dict[str, Any],
) -> None:
    """The body and its ``current_password`` field both say when it is required."""
    update = document["components"]["schemas"]["UserUpdateRequest"]

    assert "`current_password`" in update["description"]
    assert "own password" in update["properties"]["current_password"]["description"]
    assert "422" in update["properties"]["current_password"]["description"]


def test_page_and_cursor_are_documented_as_mutually_exclusive(document: dict[str, Any]) -> None:
    """Each parameter names the other, and the 422 says that both at once is refused."""
    operation = _operation(document, "get", "/api/users")
    described = {p["name"]: p["description"] for p in operation["parameters"]}

    assert "Not together with `cursor`" in described["page"]
    assert "Not together with `page`" in described["cursor"]
    assert "`page` together with `cursor`" in operation["responses"]["422"]["description"]


def test_query_parameters_are_never_null(document: dict[str, Any]) -> None:
    """An optional query parameter is left out, so no schema offers ``null``."""
    for item in document["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    assert "null" not in str(parameter["schema"]), parameter["name"]
                    assert parameter["schema"]["type"] in {"integer", "string"}


def test_every_schema_of_a_body_is_described(document: dict[str, Any]) -> None:
    """Request and response bodies carry their description."""
    for name, schema in document["components"]["schemas"].items():
        if schema.get("type") == "object":
            assert schema.get("description"), name


@pytest.mark.parametrize(("method", "path"), list(ROUTES), ids=[f"{m} {p}" for m, p in ROUTES])
def test_the_documented_415_is_what_each_route_answers_to_a_body_that_is_not_json(
    client: TestClient[Litestar], document: dict[str, Any], method: str, path: str
) -> None:
    """A form post reaches no route, with or without a body of its own: the 415 is documented."""
    target = (
        path.replace("{user_id}", "00000000-0000-4000-8000-000000000000")
        .replace("{session_id}", "00000000-0000-4000-8000-000000000001")
        .replace("{passkey_id}", "00000000-0000-4000-8000-000000000002")
    )

    response = client.request(
        method, target, content=b"a=b", headers={"content-type": "text/plain"}
    )

    assert response.status_code == 415
    assert response.headers["content-type"] == PROBLEM
    assert "415" in _operation(document, method, path)["responses"]
