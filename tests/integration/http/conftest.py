"""Fixtures of the HTTP tests: the real application on the real database, through TestClient."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import psycopg
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.integration.http.helpers import Api
from usermgmt import Settings, UserManagement
from usermgmt.entrypoints.http import create_app
from usermgmt.ports import Clock

AppFactory = Callable[..., TestClient[Litestar]]


@pytest.fixture
def http_settings(settings: Settings) -> Settings:
    """The shared test settings, with a rate limit that ordinary tests never reach."""
    return settings.evolve(rate_limit_per_minute=10_000, migrate_on_start=False)


@pytest.fixture
def start_app(empty_database: str, http_settings: Settings) -> Iterator[AppFactory]:
    """Yield a function that starts one more application instance on the test database.

    It takes the database URL, whole settings (or keyword arguments that
    change the test settings) and a clock; every instance is stopped at the
    end of the test.
    """
    with psycopg.connect(empty_database, autocommit=True) as conn:
        conn.execute("DELETE FROM key_value_store")
    with ExitStack() as stack:

        def start(
            url: str = empty_database,
            settings: Settings | None = None,
            clock: Clock | None = None,
            **changes: object,
        ) -> TestClient[Litestar]:
            settings = (settings or http_settings).evolve(**changes)
            app = create_app(UserManagement.from_url(url, settings, clock=clock), settings)
            return stack.enter_context(TestClient(app))

        yield start


@pytest.fixture
def client(start_app: AppFactory) -> TestClient[Litestar]:
    """A running application on the emptied test database."""
    return start_app()


@pytest.fixture
def api(client: TestClient[Litestar], empty_database: str, http_settings: Settings) -> Api:
    """The calls most tests make to arrange their scene."""
    return Api(client, empty_database, http_settings)
