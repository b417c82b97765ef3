"""Races settled by the database, seen through the HTTP API."""

from __future__ import annotations

import anyio
import pytest
from litestar.testing import AsyncTestClient

from tests.integration.http.helpers import PASSWORD
from usermgmt import Settings, UserManagement
from usermgmt.entrypoints.http import create_app

pytestmark = pytest.mark.anyio


def _mixed_case(email: str, n: int) -> str:
    """Return *email* with its k-th letter upper-cased when bit k of *n* is set."""
    letters = iter(range(len(email)))
    return "".join(c.upper() if c.isalpha() and n >> next(letters) & 1 else c for c in email)


async def test_fifty_parallel_registrations_of_one_email_yield_exactly_one_account(
    empty_database: str, http_settings: Settings
) -> None:
    """The same address in fifty letter cases at once: one 201, forty-nine 409s."""
    app = create_app(UserManagement.from_url(empty_database, http_settings), http_settings)
    emails = [_mixed_case("race.winner@example.org", n) for n in range(50)]
    statuses: list[int] = []

    async with AsyncTestClient(app) as client:

        async def register(email: str) -> None:
            response = await client.post(
                "/api/users/register", json={"email": email, "password": PASSWORD}
            )
            statuses.append(response.status_code)

        async with anyio.create_task_group() as tg:
            for email in emails:
                tg.start_soon(register, email)

        login = await client.post(
            "/api/auth/login", json={"email": "race.winner@example.org", "password": PASSWORD}
        )

    assert len(set(emails)) == 50
    assert sorted(statuses) == [201] + [409] * 49
    assert login.status_code == 200
