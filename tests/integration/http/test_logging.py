"""One log line per request, and never a secret in the log."""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.integration.http.helpers import OTHER_PASSWORD, PASSWORD, Api, bearer
from tests.integration.http.server import serving

LINE = re.compile(
    r"^testclient (GET|POST|PUT|PATCH|DELETE|OPTIONS) (/\S*) (\d{3}) \d+\.\dms"
    r" request_id=[0-9a-f]{32}$"
)


def _request_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str, str]]:
    matches = [LINE.match(r.getMessage()) for r in caplog.records if r.name == "usermgmt.http"]
    return [(m[1], m[2], m[3]) for m in matches if m]


def test_each_request_is_logged_once_with_client_method_path_status_duration_and_id(
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


def test_the_json_format_logs_one_object_per_line_with_the_route_template(
    empty_database: str, tmp_path: Path
) -> None:
    """Every line ``serve`` writes is a JSON object; a request's names its route, not its path."""
    env = {"USERMGMT_DATA_DIR": str(tmp_path), "USERMGMT_LOG_FORMAT": "json"}
    args = ("--database-url", empty_database, "--no-migrate")
    user_id = "0b5c4f4e-8a4b-4c43-9a52-6a2d36b1c2a1"
    with serving(*args, env=env, log_dir=tmp_path) as server:
        answer = httpx.get(f"{server.url}/api/users/{user_id}", headers={"User-Agent": "probe"})
        deadline = time.monotonic() + 10  # the line is written just after the answer is sent
        while f"/api/users/{user_id}" not in server.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        log = server.log()

    entries = [json.loads(line) for line in log.splitlines() if line.strip()]
    requests = [e for e in entries if e["event"] == "request" and e["path"] != "/"]
    assert answer.status_code == 401
    assert all({"time", "level", "logger", "event"} <= e.keys() for e in entries)
    assert requests == [
        {
            "time": requests[0]["time"],
            "level": "info",
            "logger": "usermgmt.http",
            "event": "request",
            "request_id": answer.headers["X-Request-ID"],
            "method": "GET",
            "route": "/api/users/{user_id}",
            "path": f"/api/users/{user_id}",
            "status": 401,
            "duration": requests[0]["duration"],
            "client_ip": "127.0.0.1",
        }
    ]
