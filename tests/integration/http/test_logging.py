"""One log line per request, and never a secret in the log."""

from __future__ import annotations

import logging
import re

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.integration.http.helpers import OTHER_PASSWORD, PASSWORD, Api, bearer

LINE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|OPTIONS) (/\S*) (\d{3}) \d+\.\dms$")


def _request_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str, str]]:
    matches = [LINE.match(r.getMessage()) for r in caplog.records if r.name == "usermgmt.http"]
    return [(m[1], m[2], m[3]) for m in matches if m]


def test_each_request_is_logged_once_with_method_path_status_and_duration(
    client: TestClient[Litestar], caplog: pytest.LogCaptureFixture
) -> None:
    """Routed, unknown and refused requests alike leave exactly one line each."""
    caplog.set_level(logging.INFO, logger="usermgmt")

    client.get("/health")
    client.get("/no/such/path?token=secret")
    client.delete("/api/auth/me")

    assert _request_lines(caplog) == [
        ("GET", "/health", "200"),
        ("GET", "/no/such/path", "404"),
        ("DELETE", "/api/auth/me", "405"),
    ]


def test_no_token_or_password_ever_reaches_the_log(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    """A whole session's worth of requests logs neither credentials nor tokens."""
    caplog.set_level(logging.DEBUG)
    ann = api.account("ann@example.org")
    refreshed = api.client.post(
        "/api/auth/refresh", json={"refresh_token": ann.refresh_token}
    ).json()
    api.client.post("/api/auth/login", json={"email": ann.email, "password": OTHER_PASSWORD})
    api.client.patch(
        f"/api/users/{ann.id}",
        json={"password": OTHER_PASSWORD, "current_password": PASSWORD},
        headers=bearer(refreshed["access_token"]),
    )
    api.client.get("/api/auth/me", headers=bearer(refreshed["access_token"] + "x"))
    api.client.post("/api/auth/logout", headers=bearer(refreshed["access_token"]))

    secrets = [
        PASSWORD,
        OTHER_PASSWORD,
        ann.access_token,
        ann.refresh_token,
        refreshed["access_token"],
        refreshed["refresh_token"],
    ]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert len(_request_lines(caplog)) == 7
    assert not [s for s in secrets if s in logged]
