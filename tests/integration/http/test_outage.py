"""A database outage and its end, staged through a TCP proxy the test controls."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from psycopg import conninfo

from tests.integration.http.conftest import AppFactory
from tests.integration.http.helpers import Api
from tests.integration.http.tcp_proxy import TcpProxy
from usermgmt import Settings

DOWN = {"status": "unavailable", "database": "unavailable"}


@pytest.fixture
def proxied(empty_database: str) -> Iterator[tuple[TcpProxy, str]]:
    """Yield a proxy in front of the test database and the URL that goes through it."""
    params = conninfo.conninfo_to_dict(empty_database)
    host = str(params.get("host") or "")
    if not host or host.startswith("/"):
        pytest.skip("the test database is not reached over TCP")
    with TcpProxy((host, int(params.get("port") or 5432))) as proxy:
        yield proxy, conninfo.make_conninfo(empty_database, host="127.0.0.1", port=proxy.port)


def _timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    start = time.monotonic()
    response = call()
    return response, time.monotonic() - start


def _eventually(call: Callable[[], httpx.Response], status: int, within: float) -> httpx.Response:
    deadline = time.monotonic() + within
    while True:
        response = call()
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def test_an_outage_answers_503_quickly_and_the_service_recovers_by_itself(
    start_app: AppFactory, http_settings: Settings, proxied: tuple[TcpProxy, str]
) -> None:
    """While the database is gone: 503 problems, never a 500 or a hang; then back to 200."""
    proxy, url = proxied
    client = start_app(url=url)
    api = Api(client, url, http_settings)
    ann = api.account("ann@example.org")

    proxy.cut()
    me, me_took = _timed(lambda: api.me(ann))
    health, health_took = _timed(lambda: client.get("/health"))
    login = client.post("/api/auth/login", json={"email": ann.email, "password": "whatever"})
    proxy.restore()
    healthy = _eventually(lambda: client.get("/health"), 200, within=15)
    back = _eventually(lambda: api.me(ann), 200, within=5)

    assert me.status_code == 503
    assert me.headers["content-type"] == "application/problem+json"
    assert me.json()["type"] == "/problems/unavailable"
    assert me_took < 5
    assert (health.status_code, health.json()) == (503, DOWN)
    assert health_took < 3.5
    assert login.status_code == 503
    assert healthy.json() == {"status": "ok", "database": "ok"}
    assert back.status_code == 200


@pytest.mark.slow
def test_a_database_that_stops_answering_gives_503_within_the_time_bounds(
    start_app: AppFactory, http_settings: Settings, proxied: tuple[TcpProxy, str]
) -> None:
    """A silent database (connections accepted, nothing answered) is bounded by the timeouts."""
    proxy, url = proxied
    client = start_app(url=url)
    ann = Api(client, url, http_settings).account("ann@example.org")

    proxy.cut(hang=True)
    health, health_took = _timed(lambda: client.get("/health"))
    me, me_took = _timed(lambda: client.get("/api/auth/me", headers=ann.headers))
    proxy.restore()
    healthy = _eventually(lambda: client.get("/health"), 200, within=15)

    assert (health.status_code, health.json()) == (503, DOWN)
    assert health_took < 3.5
    assert me.status_code == 503
    assert me_took < 7
    assert healthy.status_code == 200


def test_an_unmigrated_database_answers_503_and_tells_only_the_log(
    start_app: AppFactory, fresh_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Migrations switched off on an empty database: 503 problems, not crashes."""
    client = start_app(url=fresh_database)

    response = client.post(
        "/api/users/register", json={"email": "ann@example.org", "password": "a fine passphrase"}
    )

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "migrate" not in response.json()["detail"]
    assert "usermgmt db migrate" in caplog.text


def test_the_application_migrates_at_start_up_when_asked(
    start_app: AppFactory, fresh_database: str
) -> None:
    """With ``migrate_on_start`` the lifespan brings an empty database up to date first."""
    client = start_app(url=fresh_database, migrate_on_start=True)

    response = client.post(
        "/api/users/register", json={"email": "ann@example.org", "password": "a fine passphrase"}
    )

    assert response.status_code == 201
