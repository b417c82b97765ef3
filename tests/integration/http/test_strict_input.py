"""Input is taken at its JSON type only: no string is a boolean, no float an integer."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import pytest
from litestar import Litestar, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, Parameter
from litestar.testing import TestClient

from tests.integration.http.helpers import Api, bearer
from usermgmt.entrypoints.http.problems import problem_details_plugin
from usermgmt.entrypoints.http.strict import InputGate, StrictRequest

PROBLEM = "application/problem+json"
NOT_BOOLEANS = ["true", "false", 1, 0, "1", "0", 1.0, "yes", [], {}]
NOT_PLAIN_DIGITS = [
    "1e3",
    "1e2",
    "1.0",
    "0x10",
    "1_000",
    "+5",
    " 5",
    "5 ",
    "5\n",
    "-1",
    "05",
    "",
    "\uff15",  # fullwidth 5
    "\u0663",  # Arabic-Indic 3
    "\u00b2",  # superscript 2
    "9" * 5000,
]


def _refused_fields(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    return [error["field"] for error in response.json()["errors"]]


# --- booleans --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [*NOT_BOOLEANS, None], ids=repr)
def test_logout_all_sessions_takes_only_a_json_boolean(api: Api, value: object) -> None:
    """``{"all_sessions": "true"}`` (or ``1``, ``"1"``…) is a 422, and no session ends."""
    ann = api.account("ann@example.org")
    elsewhere = api.login("ann@example.org")

    response = api.client.post(
        "/api/auth/logout", json={"all_sessions": value}, headers=ann.headers
    )

    assert _refused_fields(response) == ["all_sessions"]
    assert api.me(ann).status_code == 200
    assert (
        api.client.get("/api/auth/me", headers=bearer(elsewhere["access_token"])).status_code == 200
    )


@pytest.mark.parametrize("value", NOT_BOOLEANS, ids=repr)
def test_is_active_takes_only_a_json_boolean(api: Api, value: object) -> None:
    """An admin's ``{"is_active": "0"}`` (or ``0``, ``"false"``…) is a 422; the user stays active.

    (``null`` is allowed here: it leaves the field as it is.)
    """
    admin = api.admin()
    ann = api.account("ann@example.org")

    response = api.client.patch(
        f"/api/users/{ann.id}", json={"is_active": value}, headers=admin.headers
    )

    assert _refused_fields(response) == ["is_active"]
    assert api.me(ann).json()["is_active"] is True


def test_real_booleans_still_work(api: Api) -> None:
    """``true`` and ``false`` are taken as they are."""
    admin = api.admin()
    ann = api.account("ann@example.org")

    off = api.client.patch(f"/api/users/{ann.id}", json={"is_active": False}, headers=admin.headers)
    on = api.client.patch(f"/api/users/{ann.id}", json={"is_active": True}, headers=admin.headers)

    assert (off.json()["is_active"], on.json()["is_active"]) == (False, True)


# --- strings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/users/register", {"email": 5, "password": "a long passphrase"}, "email"),
        ("/api/users/register", {"email": "ann@example.org", "password": 12345678}, "password"),
        ("/api/users/register", {"email": "ann@example.org", "password": True}, "password"),
        (
            "/api/users/register",
            {"email": "a@example.org", "password": "pw pw pw", "name": 1.5},
            "name",
        ),
        ("/api/auth/login", {"email": "ann@example.org", "password": 1e10}, "password"),
        ("/api/auth/login", {"email": ["ann@example.org"], "password": "x"}, "email"),
        ("/api/auth/refresh", {"refresh_token": 1234567890}, "refresh_token"),
        ("/api/auth/refresh", {"refresh_token": {"$ne": ""}}, "refresh_token"),
    ],
    ids=[
        "email-number",
        "password-number",
        "password-boolean",
        "name-number",
        "login-password-number",
        "login-email-array",
        "refresh-token-number",
        "refresh-token-object",
    ],
)
def test_a_string_field_takes_only_a_json_string(
    api: Api, path: str, body: dict[str, object], field: str
) -> None:
    """A number, boolean, array or object where a string belongs is a 422 naming the field."""
    response = api.client.post(path, json=body)

    assert _refused_fields(response) == [field]


@pytest.mark.parametrize(
    ("body", "field"),
    [({"name": 5}, "name"), ({"email": False}, "email"), ({"role": 1}, "role")],
    ids=["name", "email", "role"],
)
def test_an_update_takes_only_json_strings_for_its_text_fields(
    api: Api, body: dict[str, object], field: str
) -> None:
    """The update body is strict too; nothing changes."""
    ann = api.account("ann@example.org")

    response = api.client.patch(f"/api/users/{ann.id}", json=body, headers=ann.headers)

    assert _refused_fields(response) == [field]
    assert api.me(ann).json()["name"] == ""


# --- integer query parameters --------------------------------------------------------------


@pytest.mark.parametrize("value", NOT_PLAIN_DIGITS, ids=repr)
@pytest.mark.parametrize("name", ["page", "per_page"])
def test_integer_query_parameters_take_only_plain_decimal_digits(
    api: Api, name: str, value: str
) -> None:
    """``page=1e3``, ``per_page=1.0``, ``page=0x10``… are a 422 naming the parameter."""
    admin = api.admin()

    response = api.client.get("/api/users/", params={name: value}, headers=admin.headers)

    assert _refused_fields(response) == [name]


@pytest.mark.parametrize("query", ["page=+5", "page=1&page=1e3", "per_page=1e2&page=2"])
def test_every_value_of_an_integer_query_parameter_is_checked(api: Api, query: str) -> None:
    """A raw ``+`` (a space), a repeated parameter and a mix of good and bad values are refused."""
    admin = api.admin()

    response = api.client.get(f"/api/users/?{query}", headers=admin.headers)

    assert _refused_fields(response) in (["page"], ["per_page"])


def test_plain_digits_are_taken(api: Api) -> None:
    """``page=2&per_page=1`` is the second user."""
    admin = api.admin()
    api.register("ann@example.org")

    response = api.client.get("/api/users/?page=2&per_page=1", headers=admin.headers)

    assert [u["email"] for u in response.json()["items"]] == ["ann@example.org"]


# --- the mechanism, for routes to come ------------------------------------------------------------


class Counts(msgspec.Struct, forbid_unknown_fields=True):
    """A body with every scalar type a future route might take."""

    count: int
    ratio: float
    flag: bool
    label: str


@post("/counts")
async def counts(data: JSONBody[Counts]) -> Counts:
    """Echo the body."""
    return data


def offset(start: Annotated[int, Parameter()] = 0) -> int:
    """A dependency with an integer query parameter of its own."""
    return start


@get("/numbers", dependencies={"offset": Provide(offset, sync_to_thread=False)})
async def numbers(
    offset: NamedDependency[int],
    count: Annotated[int, Parameter()] = 1,
    ids: Annotated[list[int] | None, Parameter()] = None,
) -> list[int]:
    """Echo the integers."""
    return [offset, count, *(ids or [])]


@pytest.fixture
def strict_client() -> Any:
    """A bare application with nothing but the strict request class, the gate and problems."""
    gate = InputGate()
    app = Litestar(
        [counts, numbers],
        request_class=StrictRequest,
        middleware=[gate.middleware],
        plugins=[problem_details_plugin()],
    )
    gate.learn(app)
    with TestClient(app) as client:
        yield client


def test_any_route_with_a_body_decodes_it_strictly(strict_client: TestClient[Litestar]) -> None:
    """Integers, floats, booleans and strings of a new route are JSON's, with nothing to add."""
    good = {"count": 5, "ratio": 2, "flag": True, "label": "x"}

    accepted = strict_client.post("/counts", json=good)
    refused = {
        field: strict_client.post("/counts", json=good | {field: value})
        for field, value in [
            ("count", "5"),
            ("count", 5.0),
            ("count", True),
            ("ratio", "2.5"),
            ("flag", "true"),
            ("label", 5),
        ]
    }

    assert accepted.status_code == 201
    assert accepted.json() == good | {"ratio": 2.0}
    for field, response in refused.items():
        assert _refused_fields(response) == [field]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"count": "5", ', 400),
        (b"[" * 10_000, 400),
        (b'{"count": 1e999}', 400),
        (b"[]", 422),
        (b'{"count": 5}', 422),
    ],
    ids=["truncated-after-a-wrong-type", "deep", "huge-number", "array", "missing-fields"],
)
def test_only_json_that_parses_is_a_422(
    strict_client: TestClient[Litestar], body: bytes, status: int
) -> None:
    """A wrong type found before the end is still a 400 when the rest does not parse."""
    response = strict_client.post(
        "/counts", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM


def test_any_integer_query_parameter_is_checked_wherever_it_is_declared(
    strict_client: TestClient[Litestar],
) -> None:
    """Scalars, lists and the parameters of dependencies are all learnt from the routes."""
    accepted = strict_client.get("/numbers?start=7&count=2&ids=3&ids=4")
    refused = {
        name: strict_client.get(f"/numbers?{name}=1e3") for name in ["start", "count", "ids"]
    }

    assert accepted.json() == [7, 2, 3, 4]
    for name, response in refused.items():
        assert _refused_fields(response) == [name]
