"""``OPTIONS`` and 405 list, in ``Allow``, exactly the methods each path accepts."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import TestClient

USER = "/api/users/00000000-0000-4000-8000-000000000000"
EVERY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]

# path -> its Allow, in the order the service writes it
ALLOW = {
    "/": "GET, OPTIONS",
    "/health": "GET, OPTIONS",
    "/health/live": "GET, OPTIONS",
    "/health/ready": "GET, OPTIONS",
    "/api/users/register": "POST, OPTIONS",
    "/api/auth/login": "POST, OPTIONS",
    "/api/auth/refresh": "POST, OPTIONS",
    "/api/auth/logout": "POST, OPTIONS",
    "/api/auth/me": "GET, OPTIONS",
    "/api/users/": "GET, OPTIONS",
    USER: "GET, PUT, PATCH, DELETE, OPTIONS",
    f"{USER}/restore": "POST, OPTIONS",
    "/schema": "GET, OPTIONS",
    "/schema/openapi.json": "GET, OPTIONS",
    "/verify-email": "GET, OPTIONS",
    "/reset-password": "GET, OPTIONS",
    "/pages/assets/recovery.js": "GET, OPTIONS",
}


@pytest.mark.parametrize("path", list(ALLOW))
def test_options_lists_every_method_of_the_path(client: TestClient[Litestar], path: str) -> None:
    """``OPTIONS /api/users/{id}`` is ``GET, PUT, PATCH, DELETE, OPTIONS``, not just one of them."""
    response = client.options(path)

    assert response.status_code == 204
    assert response.headers["allow"] == ALLOW[path]
    assert response.content == b""


@pytest.mark.parametrize("path", list(ALLOW))
def test_a_405_lists_the_same_methods_and_each_listed_one_is_served(
    client: TestClient[Litestar], path: str
) -> None:
    """Methods outside ``Allow`` are 405 with that ``Allow``; those inside never are (no HEAD)."""
    listed = ALLOW[path].split(", ")

    answers = {method: client.request(method, path) for method in EVERY_METHOD}

    for method, response in answers.items():
        if method in listed:
            assert response.status_code != 405, method
        else:
            assert response.status_code == 405, method
            assert response.headers["allow"] == ALLOW[path]
            if method != "HEAD":
                assert ALLOW[path] in response.json()["detail"]


def test_every_documented_path_answers_options_with_its_documented_methods(
    client: TestClient[Litestar],
) -> None:
    """The OpenAPI document and ``Allow`` agree on every path."""
    document = client.get("/schema/openapi.json").json()

    for template, item in document["paths"].items():
        path = (
            template.replace("{user_id}", USER.rsplit("/", 1)[1])
            .replace("{session_id}", "00000000-0000-4000-8000-000000000001")
            .replace("{passkey_id}", "00000000-0000-4000-8000-000000000002")
        )
        documented = {m.upper() for m in item if m in {"get", "post", "put", "patch", "delete"}}

        allowed = client.options(path).headers["allow"].split(", ")

        assert set(allowed) == documented | {"OPTIONS"}, template
