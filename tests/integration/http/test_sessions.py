"""Sessions over HTTP: rotation, reuse detection, revocation across instances, races."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.http.conftest import AppFactory
from tests.integration.http.helpers import PASSWORD, Api, bearer
from usermgmt import Settings, UserManagement
from usermgmt.entrypoints.http import create_app


def _refresh(api: Api, token: str) -> httpx.Response:
    return api.client.post("/api/auth/refresh", json={"refresh_token": token})


def test_each_refresh_rotates_the_token_and_spends_the_old_one(api: Api) -> None:
    """A chain of refreshes hands out a new token each time; each works exactly once."""
    ann = api.account("ann@example.org")

    second = _refresh(api, ann.refresh_token).json()
    third = _refresh(api, second["refresh_token"]).json()

    assert len({ann.refresh_token, second["refresh_token"], third["refresh_token"]}) == 3
    assert api.client.get("/api/auth/me", headers=bearer(third["access_token"])).status_code == 200


def test_an_access_token_stays_valid_across_refreshes_of_its_session(api: Api) -> None:
    """Refreshing does not end the session, so earlier access tokens live until they expire."""
    ann = api.account("ann@example.org")

    _refresh(api, ann.refresh_token)

    assert api.me(ann).status_code == 200


def test_a_spent_token_within_the_grace_window_is_refused_but_the_session_lives(
    api: Api,
) -> None:
    """A second tab refreshing at the same moment gets 401; nobody is logged out."""
    ann = api.account("ann@example.org")
    rotated = _refresh(api, ann.refresh_token).json()

    again = _refresh(api, ann.refresh_token)

    assert again.status_code == 401
    assert again.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert api.me(ann).status_code == 200
    assert _refresh(api, rotated["refresh_token"]).status_code == 200


def test_reuse_with_the_grace_window_off_revokes_the_whole_session(
    start_app: AppFactory, http_settings: Settings, empty_database: str
) -> None:
    """With ``USERMGMT_REFRESH_REUSE_GRACE=0`` a replayed token ends the session at once."""
    settings = http_settings.evolve(refresh_reuse_grace=0)
    api = Api(start_app(settings=settings), empty_database, settings)
    ann = api.account("ann@example.org")
    rotated = _refresh(api, ann.refresh_token).json()

    replay = _refresh(api, ann.refresh_token)

    assert replay.status_code == 401
    assert api.me(ann).status_code == 401
    assert _refresh(api, rotated["refresh_token"]).status_code == 401
    assert (
        api.client.get("/api/auth/me", headers=bearer(rotated["access_token"])).status_code == 401
    )


@pytest.mark.slow
def test_reuse_after_the_grace_window_revokes_the_whole_session(
    start_app: AppFactory, http_settings: Settings, empty_database: str
) -> None:
    """Once the window has passed, a replayed token is theft: the newest token dies too."""
    settings = http_settings.evolve(refresh_reuse_grace=1)
    api = Api(start_app(settings=settings), empty_database, settings)
    ann = api.account("ann@example.org")
    rotated = _refresh(api, ann.refresh_token).json()
    time.sleep(2.1)

    replay = _refresh(api, ann.refresh_token)

    assert replay.status_code == 401
    assert _refresh(api, rotated["refresh_token"]).status_code == 401


def test_revocation_holds_across_two_instances_sharing_the_database(
    start_app: AppFactory, api: Api
) -> None:
    """Logout on one instance is honoured by another on the very next request."""
    other_instance = start_app()
    ann = api.account("ann@example.org")
    assert other_instance.get("/api/auth/me", headers=ann.headers).status_code == 200

    api.client.post("/api/auth/logout", headers=ann.headers)

    assert other_instance.get("/api/auth/me", headers=ann.headers).status_code == 401
    refreshed = other_instance.post("/api/auth/refresh", json={"refresh_token": ann.refresh_token})
    assert refreshed.status_code == 401


def test_a_delete_on_one_instance_ends_sessions_seen_by_another(
    start_app: AppFactory, api: Api
) -> None:
    """Deleting a user on one instance makes its tokens fail on the other at once."""
    other_instance = start_app()
    admin = api.admin()
    ann = api.account("ann@example.org")

    other_instance.delete(f"/api/users/{ann.id}", headers=admin.headers)

    assert api.me(ann).status_code == 401


@pytest.fixture
async def async_client(
    empty_database: str, http_settings: Settings
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """An application served on the test's own event loop, for truly concurrent requests."""
    app = create_app(UserManagement.from_url(empty_database, http_settings), http_settings)
    async with AsyncTestClient(app) as client:
        yield client


@pytest.mark.anyio
async def test_parallel_refreshes_of_one_token_succeed_at_most_once(
    async_client: AsyncTestClient[Litestar],
) -> None:
    """Ten simultaneous refreshes with the same token: exactly one new pair, nine 401s."""
    credentials = {"email": "ann@example.org", "password": PASSWORD}
    await async_client.post("/api/users/register", json=credentials)
    tokens = (await async_client.post("/api/auth/login", json=credentials)).json()
    statuses: list[int] = []

    async def refresh() -> None:
        response = await async_client.post(
            "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        statuses.append(response.status_code)

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(refresh)

    assert sorted(statuses) == [200] + [401] * 9
