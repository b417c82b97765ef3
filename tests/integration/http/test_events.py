"""The HTTP app delivers the service's events while it runs, with each request's context."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import psycopg
import pytest
from litestar.testing import TestClient

from tests.integration.http.server import serving
from usermgmt import Settings, UserManagement, VerificationMode
from usermgmt.entrypoints.http import create_app
from usermgmt.events import (
    Delivery,
    Event,
    LoggedIn,
    LoggedOut,
    LoginFailed,
    LoginFailureReason,
    UserRegistered,
)

PASSWORD = "correct horse battery"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings without verification mail: these tests count the events of a change."""
    return settings.evolve(email_verification=VerificationMode.OFF)


def test_the_running_app_delivers_each_requests_event_to_a_subscriber(
    empty_database: str, http_settings: Settings
) -> None:
    """Register, fail, log in, read, log out over HTTP: the subscriber gets four events, no read."""
    service = UserManagement.from_url(empty_database, http_settings)
    received: list[Event] = []

    async def keep(delivery: Delivery[Event]) -> None:
        received.append(delivery.event)

    service.subscribe(Event, keep)
    agent = {"User-Agent": "events-test/1.0"}
    with TestClient(create_app(service, http_settings)) as client:
        registered = client.post(
            "/api/users/register", json={"email": "ann@example.org", "password": PASSWORD}
        )
        wrong = client.post(
            "/api/auth/login",
            json={"email": "ann@example.org", "password": "wrong horse battery"},
            headers=agent,
        )
        login = client.post(
            "/api/auth/login", json={"email": "ann@example.org", "password": PASSWORD}
        )
        bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
        me = client.get("/api/auth/me", headers=bearer)
        logout = client.post("/api/auth/logout", headers=bearer)
        deadline = time.monotonic() + 15
        while len(received) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)

    assert [r.status_code for r in (registered, wrong, login, me, logout)] == [
        201,
        401,
        200,
        200,
        204,
    ]
    assert [type(e) for e in received] == [UserRegistered, LoginFailed, LoggedIn, LoggedOut]
    user_id = registered.json()["id"]
    assert all(str(getattr(e, "user_id", "")) == user_id for e in received)
    failed = received[1]
    assert isinstance(failed, LoginFailed)
    assert failed.reason is LoginFailureReason.WRONG_PASSWORD
    assert failed.context.user_agent == "events-test/1.0"
    assert failed.context.request_id == wrong.headers["X-Request-ID"]
    assert failed.context.ip != ""
    assert received[0].context.request_id == registered.headers["X-Request-ID"]


@pytest.mark.slow
def test_serve_runs_the_dispatcher_in_every_worker(empty_database: str, tmp_path: Path) -> None:
    """Under ``usermgmt serve --workers 2`` the events of requests are delivered (and settled)."""
    env = {"USERMGMT_DATA_DIR": str(tmp_path), "USERMGMT_MIGRATE_ON_START": "false"}
    with serving(
        "--database-url", empty_database, "--workers", "2", env=env, log_dir=tmp_path
    ) as served:
        answers = [
            httpx.post(
                f"{served.url}/api/users/register",
                json={"email": f"user{n}@example.org", "password": PASSWORD},
            ).status_code
            for n in range(6)
        ]
        deadline = time.monotonic() + 20
        with psycopg.connect(empty_database, autocommit=True) as conn:
            while time.monotonic() < deadline:
                row = conn.execute(
                    "SELECT count(*) FILTER (WHERE delivered_at IS NOT NULL), count(*)"
                    " FROM event_outbox WHERE type = 'UserRegistered'"
                ).fetchone()
                if row == (6, 6):
                    break
                time.sleep(0.1)
        log = served.log()

    assert answers == [201] * 6
    assert row == (6, 6)
    assert "Traceback" not in log
