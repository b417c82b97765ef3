"""``/health/live`` and ``/health/ready``: the probes of an orchestrator, on the real database."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import anyio
import psycopg
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from psycopg import conninfo

from tests.integration.http.conftest import AppFactory
from tests.integration.http.tcp_proxy import TcpProxy
from usermgmt import Settings, UserManagement
from usermgmt.adapters.postgres import Migrator
from usermgmt.adapters.postgres.migrate import bundled_migrations
from usermgmt.entrypoints.http import create_app

READY = {"status": "ok", "checks": {"database": "ok", "migrations": "ok"}}
DOWN = {"status": "unavailable", "checks": {"database": "unavailable", "migrations": "unknown"}}


def _closed_port() -> int:
    """Return a loopback port that nothing listens on (it was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def proxied(empty_database: str) -> Iterator[tuple[TcpProxy, str]]:
    """Yield a proxy in front of the test database and the URL that goes through it."""
    params = conninfo.conninfo_to_dict(empty_database)
    host = str(params.get("host") or "")
    if not host or host.startswith("/"):
        pytest.skip("the test database is not reached over TCP")
    with TcpProxy((host, int(params.get("port") or 5432))) as proxy:
        yield proxy, conninfo.make_conninfo(empty_database, host="127.0.0.1", port=proxy.port)


def _timed_get(client: TestClient[Litestar], path: str) -> tuple[int, object, float]:
    start = time.monotonic()
    response = client.get(path)
    return response.status_code, response.json(), time.monotonic() - start


def test_live_is_ok_and_never_cached(client: TestClient[Litestar]) -> None:
    """``/health/live`` answers 200 ``{"status": "ok"}``, with ``no-store``."""
    response = client.get("/health/live")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert response.headers["cache-control"] == "no-store"


def test_ready_is_ok_on_a_migrated_database_that_answers(client: TestClient[Litestar]) -> None:
    """The test database is at the newest migration: ready, every check ``ok``."""
    response = client.get("/health/ready")

    assert (response.status_code, response.json()) == (200, READY)
    assert response.headers["cache-control"] == "no-store"


def test_ready_is_503_while_a_migration_is_pending(
    start_app: AppFactory, fresh_database: str
) -> None:
    """A schema one migration behind is not ready, and says that migrations are the reason."""
    anyio.run(Migrator(fresh_database, bundled_migrations()[:-1]).migrate)
    client = start_app(url=fresh_database)

    response = client.get("/health/ready")
    live = client.get("/health/live")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "migrations": "behind"},
    }
    assert live.status_code == 200


def test_ready_is_503_on_a_database_never_migrated(
    start_app: AppFactory, fresh_database: str
) -> None:
    """No migrations table at all is a schema behind too, not an error."""
    client = start_app(url=fresh_database)

    response = client.get("/health/ready")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "migrations": "behind"}


def test_ready_is_503_when_a_newer_release_migrated_the_database(
    start_app: AppFactory, fresh_database: str
) -> None:
    """A migration this version does not know: the schema is ahead of the code."""
    anyio.run(Migrator(fresh_database).migrate)
    with psycopg.connect(fresh_database, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO usermgmt_migrations (version, name, checksum) VALUES (9999, 'later', '')"
        )
    client = start_app(url=fresh_database)

    response = client.get("/health/ready")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "migrations": "ahead"}


def test_ready_is_503_within_a_second_when_nothing_listens(
    start_app: AppFactory, empty_database: str
) -> None:
    """A service pointed at a closed port: 503 in about a second, no URL, no error text."""
    url = conninfo.make_conninfo(empty_database, host="127.0.0.1", port=_closed_port())
    client = start_app(url=url)

    status, body, took = _timed_get(client, "/health/ready")
    live = client.get("/health/live")

    assert (status, body) == (503, DOWN)
    assert took < 1.5
    assert live.status_code == 200


@pytest.mark.parametrize("hang", [False, True], ids=["refused", "silent"])
def test_ready_is_503_within_a_second_in_an_outage_and_recovers(
    start_app: AppFactory, proxied: tuple[TcpProxy, str], hang: bool
) -> None:
    """The database goes away (refusing, or silent): 503 within ~1 s; ready again once back."""
    proxy, url = proxied
    client = start_app(url=url)
    before = client.get("/health/ready")

    proxy.cut(hang=hang)
    status, body, took = _timed_get(client, "/health/ready")
    live_status, live_body, live_took = _timed_get(client, "/health/live")
    proxy.restore()
    deadline = time.monotonic() + 15
    after = client.get("/health/ready")
    while after.status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
        after = client.get("/health/ready")

    assert before.status_code == 200
    assert (status, body) == (503, DOWN)
    assert took < 1.5
    assert (live_status, live_body) == (200, {"status": "ok"})
    assert live_took < 0.5
    assert (after.status_code, after.json()) == (200, READY)


@pytest.mark.anyio
async def test_a_closed_service_is_not_ready(empty_database: str, settings: Settings) -> None:
    """After its pool is closed, the service reports the database unavailable, quickly."""
    service = UserManagement.from_url(empty_database, settings.evolve(migrate_on_start=False))
    async with service:
        assert (await service.check_readiness()).ready

    start = time.monotonic()
    found = await service.check_readiness()

    assert (found.database, found.migrations, found.ready) == ("unavailable", "unknown", False)
    assert time.monotonic() - start < 1.5


def test_ready_is_ok_in_memory(http_settings: Settings) -> None:
    """The in-memory backend has no database to wait for: always ready."""
    with TestClient(create_app(UserManagement.in_memory(http_settings), http_settings)) as client:
        ready = client.get("/health/ready")
        live = client.get("/health/live")

    assert (ready.status_code, ready.json()) == (200, READY)
    assert (live.status_code, live.json()) == (200, {"status": "ok"})


def test_the_probes_are_documented_with_their_bodies(client: TestClient[Litestar]) -> None:
    """The OpenAPI document shows the readiness body on 200 and on 503."""
    paths = client.get("/schema/openapi.json").json()["paths"]

    ready = paths["/health/ready"]["get"]["responses"]
    live = paths["/health/live"]["get"]["responses"]

    for status in ("200", "503"):
        schema = ready[status]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith("/ReadinessResponse"), status
    assert live["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Liveness")
