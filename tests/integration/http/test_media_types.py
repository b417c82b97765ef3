"""Only JSON is read: any other body is a 415, so a cross-site form cannot reach the API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient

from tests.integration.http.helpers import PASSWORD, Api, bearer

PROBLEM = "application/problem+json"
NOT_JSON = [
    "text/plain",
    "text/plain; charset=utf-8",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "text/json",
    "application/jsonx",
    "application/json-patch",
    "application/+json",
    "application/json, text/plain",
    "",
]
JSON = [
    "application/json",
    "application/json; charset=utf-8",
    "Application/JSON",
    "application/merge-patch+json",
    "application/vnd.api+json",
]


def _unsupported(response: Any) -> None:
    assert response.status_code == 415, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == "/problems/unsupported-media-type"


def _typed(content_type: str | None) -> dict[str, str]:
    return {} if content_type is None else {"content-type": content_type}


# --- refused ---------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", [*NOT_JSON, None], ids=repr)
def test_a_registration_that_is_not_json_is_a_415_and_registers_nobody(
    api: Api, content_type: str | None
) -> None:
    """``text/plain``, form types, look-alikes and a missing type all get 415; no account."""
    body = json.dumps({"email": "ann@example.org", "password": PASSWORD}).encode()

    response = api.client.post("/api/users/register", content=body, headers=_typed(content_type))

    _unsupported(response)
    assert api.register("ann@example.org")["email"] == "ann@example.org"


def test_logins_that_are_not_json_are_never_attempted(api: Api) -> None:
    """Wrong passwords posted as a form neither count as failures nor reveal anything."""
    api.register("ann@example.org")
    guess = json.dumps({"email": "ann@example.org", "password": "wrong guess 123"}).encode()
    limit = api.settings.login_max_failures

    answers = [
        api.client.post("/api/auth/login", content=guess, headers={"content-type": "text/plain"})
        for _ in range(limit + 2)
    ]

    for response in answers:
        _unsupported(response)
    assert api.login("ann@example.org")["token_type"] == "bearer"


def test_a_logout_of_every_session_posted_as_text_ends_nothing(api: Api) -> None:
    """``{"all_sessions": true}`` as ``text/plain`` is a 415, and every session lives."""
    ann = api.account("ann@example.org")
    elsewhere = api.login("ann@example.org")

    response = api.client.post(
        "/api/auth/logout",
        content=b'{"all_sessions": true}',
        headers={**ann.headers, "content-type": "text/plain"},
    )

    _unsupported(response)
    assert api.me(ann).status_code == 200
    assert (
        api.client.get("/api/auth/me", headers=bearer(elsewhere["access_token"])).status_code == 200
    )


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_an_update_posted_as_a_form_changes_nothing(api: Api, method: str) -> None:
    """The update routes refuse form bodies too."""
    ann = api.account("ann@example.org")

    response = api.client.request(
        method,
        f"/api/users/{ann.id}",
        content=b"name=Mallory",
        headers={**ann.headers, "content-type": "application/x-www-form-urlencoded"},
    )

    _unsupported(response)
    assert api.me(ann).json()["name"] == ""


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_a_body_that_is_not_json_is_refused_on_any_route(api: Api, method: str) -> None:
    """Routes that read no body refuse a non-JSON one too: the rule has no exceptions."""
    ann = api.account("ann@example.org")

    response = api.client.request(
        method,
        f"/api/users/{ann.id}",
        content=b"a=b",
        headers={**ann.headers, "content-type": "application/x-www-form-urlencoded"},
    )

    _unsupported(response)
    assert api.me(ann).status_code == 200


def test_two_content_types_are_not_json(api: Api) -> None:
    """A request that names two types is ambiguous, so it is not taken for JSON."""
    body = json.dumps({"email": "ann@example.org", "password": PASSWORD}).encode()

    response = api.client.post(
        "/api/users/register",
        content=body,
        headers=[("content-type", "application/json"), ("content-type", "text/plain")],
    )

    _unsupported(response)


def _chunks(*parts: bytes) -> Iterator[bytes]:
    yield from parts


def test_a_chunked_body_that_is_not_json_is_a_415(api: Api) -> None:
    """Without ``Content-Length`` the body is looked at: non-empty and not JSON is refused."""
    body = json.dumps({"email": "ann@example.org", "password": PASSWORD}).encode()

    response = api.client.post(
        "/api/users/register",
        content=_chunks(body[:10], body[10:]),
        headers={"content-type": "text/plain"},
    )

    assert response.request.headers["transfer-encoding"] == "chunked"
    _unsupported(response)


def test_a_chunked_body_over_the_size_limit_is_a_413(client: TestClient[Litestar]) -> None:
    """Looking at a chunked body stops at 64 KiB."""
    response = client.post(
        "/api/users/register",
        content=_chunks(*[b"x" * 8192] * 9),
        headers={"content-type": "text/plain"},
    )

    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", " "])
def test_a_content_length_that_is_no_number_is_a_400(
    client: TestClient[Litestar], length: str
) -> None:
    """A garbled ``Content-Length`` is a malformed request, not a crash."""
    response = client.post("/api/auth/logout", headers={"content-length": length})

    assert response.status_code == 400
    assert response.json()["type"] == "/problems/malformed-body"


# --- accepted --------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", JSON)
def test_json_and_its_structured_suffix_types_are_read(api: Api, content_type: str) -> None:
    """``application/json`` with parameters, in any letter case, and ``application/*+json``."""
    ann = api.account("ann@example.org")

    response = api.client.patch(
        f"/api/users/{ann.id}",
        content=b'{"name": "Ann"}',
        headers={**ann.headers, "content-type": content_type},
    )

    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Ann"


def test_a_chunked_json_body_is_read(client: TestClient[Litestar]) -> None:
    """Chunked transfer is fine when the body is JSON."""
    body = json.dumps({"email": "ann@example.org", "password": PASSWORD}).encode()

    response = client.post(
        "/api/users/register",
        content=_chunks(body[:7], body[7:]),
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 201


@pytest.mark.parametrize("chunked", [False, True], ids=["empty", "empty-chunked"])
def test_a_request_without_a_body_needs_no_type(api: Api, *, chunked: bool) -> None:
    """An empty logout (plain or chunked), a GET and a DELETE need no ``Content-Type``."""
    ann = api.account("ann@example.org")
    bob = api.account("bob@example.org")

    read = api.client.get(f"/api/users/{ann.id}", headers=ann.headers)
    logout = api.client.post(
        "/api/auth/logout", content=_chunks() if chunked else b"", headers=ann.headers
    )
    deleted = api.client.delete(f"/api/users/{bob.id}", headers=bob.headers)

    assert (read.status_code, logout.status_code, deleted.status_code) == (200, 204, 204)
    if chunked:
        assert logout.request.headers["transfer-encoding"] == "chunked"


# --- a body nobody announced ------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_body_without_length_or_chunking_is_still_checked_when_read(
    client: TestClient[Litestar],
) -> None:
    """Servers that pass a body without announcing it (HTTP/2) get the same 415."""
    messages: list[dict[str, Any]] = []
    body = json.dumps({"email": "ann@example.org", "password": PASSWORD}).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "2",
        "method": "POST",
        "scheme": "http",
        "path": "/api/users/register",
        "raw_path": b"/api/users/register",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"content-type", b"text/plain")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "state": {},
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await client.app(scope, receive, send)  # type: ignore[arg-type]

    assert messages[0]["status"] == 415


# --- nothing a client sends is a 500 -------------------------------------------------------------

_ROUTES = [
    ("POST", "/api/users/register"),
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/refresh"),
    ("POST", "/api/auth/logout"),
    ("GET", "/api/auth/me"),
    ("GET", "/api/users/"),
    ("PATCH", "/api/users/00000000-0000-4000-8000-000000000000"),
    ("PUT", "/api/users/00000000-0000-4000-8000-000000000000"),
    ("DELETE", "/api/users/00000000-0000-4000-8000-000000000000"),
    ("POST", "/api/users/00000000-0000-4000-8000-000000000000/restore"),
    ("OPTIONS", "/api/users/"),
]
_CONTENT_TYPES = st.one_of(
    st.none(),
    st.sampled_from([*NOT_JSON, *JSON, "application/json; charset=latin-1", ";", "/", "*/*"]),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
)
_BODIES = st.one_of(
    st.binary(max_size=64),
    st.sampled_from(
        [
            b"",
            b"{}",
            b"null",
            b'{"all_sessions": "true"}',
            b'{"is_active": 0, "role": "admin"}',
            b'{"email": 1, "password": []}',
            b'{"refresh_token": {"a": 1}}',
            b"[" * 1000,
            b'"\\ud800"',
            b"a=b&c=d",
            b"--x\r\nContent-Disposition: form-data\r\n\r\nv\r\n--x--",
        ]
    ),
)
_QUERIES = st.sampled_from(["", "page=1e3", "per_page=%EF%BC%95", "cursor=&page=1", "page=99999"])


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    route=st.sampled_from(_ROUTES),
    content_type=_CONTENT_TYPES,
    body=_BODIES,
    query=_QUERIES,
    chunked=st.booleans(),
    authorization=st.sampled_from([None, "Bearer x", "Bearer", "Basic x"]),
)
def test_no_body_header_or_query_produces_a_server_error(
    client: TestClient[Litestar],
    route: tuple[str, str],
    content_type: str | None,
    body: bytes,
    query: str,
    *,
    chunked: bool,
    authorization: str | None,
) -> None:
    """Odd bodies under odd types, chunked or not, with odd queries: always a 4xx problem."""
    method, path = route
    headers = _typed(content_type)
    if authorization is not None:
        headers["authorization"] = authorization

    response = client.request(
        method,
        f"{path}?{query}" if query else path,
        content=_chunks(body) if chunked else body,
        headers=headers,
    )

    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == PROBLEM
        assert "Traceback" not in response.text
