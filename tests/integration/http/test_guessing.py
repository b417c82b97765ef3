"""Guessing attacks on the real HTTP stack and PostgreSQL: bursts, many clients, the owner.

Each client is its own ASGI transport with its own address, all on one running
application; a counting hasher (the real argon2 adapter, counting) tells how
many guesses were actually verified.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import anyio
import argon2
import httpx
import pytest

from tests.integration.http.helpers import OTHER_PASSWORD, PASSWORD, bearer
from usermgmt import ManualClock, Settings, UserManagement
from usermgmt.adapters.passwords import Argon2PasswordHasher
from usermgmt.entrypoints.http import create_app

pytestmark = pytest.mark.anyio

ANN = "ann@example.org"


class CountingHasher(Argon2PasswordHasher):
    """The real argon2 hasher, counting verifications and telling when the n-th one starts."""

    def __init__(self) -> None:
        super().__init__(argon2.PasswordHasher.from_parameters(argon2.profiles.CHEAPEST))
        self.verified: list[str] = []
        self._waiters: dict[int, anyio.Event] = {}

    def started(self, count: int) -> anyio.Event:
        """Return an event set once *count* verifications have started."""
        event = self._waiters.setdefault(count, anyio.Event())
        if len(self.verified) >= count:
            event.set()
        return event

    async def verify(self, password: str, password_hash: str | None) -> bool:
        self.verified.append(password)
        for count, event in self._waiters.items():
            if len(self.verified) >= count:
                event.set()
        await anyio.sleep(0.05)  # a real hash takes a while: let the burst pile up behind it
        return await super().verify(password, password_hash)


Client = Callable[[str], httpx.AsyncClient]


@asynccontextmanager
async def running(
    database_url: str, settings: Settings, hasher: CountingHasher
) -> AsyncIterator[Client]:
    """Run one application; yield a function that returns a client at a given address.

    The clock stands still, so that no lock runs out while a test runs.
    """
    clock = ManualClock(datetime.now(UTC))
    service = UserManagement.from_url(database_url, settings, clock=clock, hasher=hasher)
    app = create_app(service, settings)
    async with app.lifespan(), AsyncExitStack() as stack:  # on this loop, as the requests
        made: dict[str, httpx.AsyncClient] = {}

        def client(address: str) -> httpx.AsyncClient:
            if address not in made:
                made[address] = httpx.AsyncClient(
                    transport=httpx.ASGITransport(app, client=(address, 50000)),  # type: ignore[arg-type]  # Litestar types ASGI more narrowly than httpx
                    base_url="http://testserver.local",
                )
                stack.push_async_callback(made[address].aclose)
            return made[address]

        yield client


async def login(
    client: httpx.AsyncClient, password: str, email: str = ANN, **extra: str
) -> httpx.Response:
    """POST the credentials (and any extra fields) to the login route."""
    return await client.post(
        "/api/auth/login", json={"email": email, "password": password, **extra}
    )


async def _register(client: Client, email: str = ANN) -> dict[str, Any]:
    response = await client("192.0.2.1").post(
        "/api/users/register", json={"email": email, "password": PASSWORD}
    )
    assert response.status_code == 201
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def hasher() -> CountingHasher:
    """A fresh counting hasher."""
    return CountingHasher()


@pytest.fixture
def guess_settings(http_settings: Settings) -> Settings:
    """Test settings without the per-IP rate limit: the throttle alone must hold."""
    return http_settings.evolve(rate_limit_per_minute=0)


async def _burst(
    client: Client, addresses: list[str], hasher: CountingHasher, admitted: int
) -> tuple[list[int], int]:
    """Send one wrong guess from each address at once; the right one once *admitted* are in.

    Returns the statuses of the wrong guesses and the status of the right one.
    """
    statuses: list[int] = []
    right: list[int] = []

    async def wrong(address: str, n: int) -> None:
        statuses.append((await login(client(address), f"wrong guess {n}")).status_code)

    async def the_right_one() -> None:
        with anyio.fail_after(60):  # a bound for a broken throttle, not a timing assumption
            await hasher.started(admitted).wait()  # the burst is still in flight
        right.append((await login(client(addresses[0]), PASSWORD)).status_code)

    async with anyio.create_task_group() as tg:
        for n, address in enumerate(addresses):
            tg.start_soon(wrong, address, n)
        tg.start_soon(the_right_one)
    return statuses, right[0]


async def test_forty_guesses_at_once_from_one_client_get_five_verifications(
    empty_database: str, guess_settings: Settings, hasher: CountingHasher
) -> None:
    """Forty wrong guesses at once: five verified (401), the rest and the right one 429."""
    async with running(empty_database, guess_settings, hasher) as client:
        assert (
            await client("203.0.113.5").post(
                "/api/users/register", json={"email": ANN, "password": PASSWORD}
            )
        ).status_code == 201

        statuses, right = await _burst(client, ["203.0.113.5"] * 40, hasher, admitted=5)

    assert len(hasher.verified) == 5
    assert sorted(statuses) == [401] * 5 + [429] * 35
    assert right == 429


async def test_three_hundred_guesses_from_as_many_clients_get_a_hundred_verifications(
    empty_database: str, guess_settings: Settings, hasher: CountingHasher
) -> None:
    """Spread over 300 addresses at once, guessing stops at the account's ceiling of 100."""
    addresses = [f"198.51.{n // 200}.{n % 200 + 1}" for n in range(300)]
    async with running(empty_database, guess_settings, hasher) as client:
        await client("192.0.2.1").post(
            "/api/users/register", json={"email": ANN, "password": PASSWORD}
        )

        statuses, right = await _burst(client, addresses, hasher, admitted=100)

    assert len(hasher.verified) == 100
    assert sorted(statuses) == [401] * 100 + [429] * 200
    assert right == 429


async def test_unknown_emails_are_throttled_like_known_ones_under_a_burst(
    empty_database: str, guess_settings: Settings, hasher: CountingHasher
) -> None:
    """A burst on an address with no account is verified (and refused) exactly as often."""
    async with running(empty_database, guess_settings, hasher) as client:
        statuses: list[int] = []

        async def wrong(n: int) -> None:
            answer = await login(client("203.0.113.5"), f"guess {n}", email="nobody@example.org")
            statuses.append(answer.status_code)

        async with anyio.create_task_group() as tg:
            for n in range(30):
                tg.start_soon(wrong, n)

    assert len(hasher.verified) == 5
    assert sorted(statuses) == [401] * 5 + [429] * 25


# --- the owner is not locked out ------------------------------------------------------------


@pytest.fixture
def low_ceiling(guess_settings: Settings) -> Settings:
    """A per-account ceiling of 10, quick to trip."""
    return guess_settings.evolve(login_max_failures_per_account=10)


async def _trip_the_ceiling(client: Client, email: str = ANN, *, guesses: int = 10) -> None:
    """Wrong guesses from as many addresses, one each (ten trip the low ceiling)."""
    for n in range(guesses):
        assert (await login(client(f"198.51.100.{n}"), OTHER_PASSWORD, email)).status_code == 401


async def test_the_owner_with_a_device_token_signs_in_past_a_tripped_ceiling(
    empty_database: str, low_ceiling: Settings, hasher: CountingHasher
) -> None:
    """Without the token the owner gets 429 like everybody; with it, 200 and a fresh token."""
    async with running(empty_database, low_ceiling, hasher) as client:
        await _register(client)
        device = (await login(client("192.0.2.1"), PASSWORD)).json()["device_token"]
        await _trip_the_ceiling(client)

        without = await login(client("192.0.2.1"), PASSWORD)
        with_token = await login(client("192.0.2.1"), PASSWORD, device_token=device)
        spent = await login(client("192.0.2.1"), PASSWORD, device_token=device)

    assert without.status_code == 429
    assert with_token.status_code == 200
    assert with_token.json()["device_token"] not in {device, None}
    assert spent.status_code == 429  # a presented token is spent by the login


async def test_a_deleted_users_device_token_does_not_exempt(
    empty_database: str, low_ceiling: Settings, hasher: CountingHasher
) -> None:
    """Delete the account, register the address again: the old device token is worthless."""
    async with running(empty_database, low_ceiling, hasher) as client:
        user = await _register(client)
        tokens = (await login(client("192.0.2.1"), PASSWORD)).json()
        deleted = await client("192.0.2.1").delete(
            f"/api/users/{user['id']}", headers=bearer(tokens["access_token"])
        )
        await _register(client)
        await _trip_the_ceiling(client)

        answer = await login(client("192.0.2.1"), PASSWORD, device_token=tokens["device_token"])

    assert deleted.status_code == 204
    assert answer.status_code == 429


@pytest.mark.parametrize(
    "token", ["", "made-up", "é" * 100, "x" * 512], ids=["empty", "unknown", "accents", "longest"]
)
async def test_a_device_token_that_is_not_one_is_simply_no_token(
    empty_database: str, low_ceiling: Settings, hasher: CountingHasher, token: str
) -> None:
    """Empty, unknown or odd tokens neither fail the login nor exempt it."""
    async with running(empty_database, low_ceiling, hasher) as client:
        await _register(client)

        fine = await login(client("192.0.2.1"), PASSWORD, device_token=token)
        await _trip_the_ceiling(client)
        throttled = await login(client("192.0.2.1"), PASSWORD, device_token=token)

    assert (fine.status_code, throttled.status_code) == (200, 429)


@pytest.mark.parametrize(
    "token",
    [5, True, ["x"], {"t": "x"}, "x" * 513],
    ids=["number", "boolean", "list", "object", "too-long"],
)
async def test_a_device_token_of_the_wrong_type_or_size_is_422(
    empty_database: str, guess_settings: Settings, hasher: CountingHasher, token: object
) -> None:
    """Only a string of at most 512 characters (or null) is accepted, before any hashing."""
    async with running(empty_database, guess_settings, hasher) as client:
        answer = await client("192.0.2.1").post(
            "/api/auth/login", json={"email": ANN, "password": PASSWORD, "device_token": token}
        )

    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert hasher.verified == []


# --- who one client is, and a fresh start after a password change ---------------------------


async def test_an_ipv6_64_is_one_client_and_ipv4_mapped_is_its_ipv4(
    empty_database: str, guess_settings: Settings, hasher: CountingHasher
) -> None:
    """Rotating through one /64 does not escape the per-client throttle."""
    async with running(empty_database, guess_settings, hasher) as client:
        await _register(client)
        for host in range(1, 6):
            assert (await login(client(f"2001:db8:1:2::{host}"), OTHER_PASSWORD)).status_code == 401
        for _ in range(2):
            await login(client("192.0.2.77"), OTHER_PASSWORD)

        same_64 = await login(client("2001:db8:1:2:ffff:ffff:ffff:ffff"), PASSWORD)
        next_64 = await login(client("2001:db8:1:3::1"), OTHER_PASSWORD)
        for _ in range(3):
            await login(client("::ffff:192.0.2.77"), OTHER_PASSWORD)
        mapped = await login(client("192.0.2.77"), PASSWORD)

    assert same_64.status_code == 429
    assert next_64.status_code == 401
    assert mapped.status_code == 429


async def test_a_password_change_lets_the_throttled_owner_in_at_once(
    empty_database: str, low_ceiling: Settings, hasher: CountingHasher
) -> None:
    """Locked on the pair and the account, the owner changes the password and signs in."""
    async with running(empty_database, low_ceiling, hasher) as client:
        user = await _register(client)
        session = (await login(client("192.0.2.9"), PASSWORD)).json()
        for _ in range(5):
            await login(client("192.0.2.1"), OTHER_PASSWORD)
        await _trip_the_ceiling(client, guesses=5)  # 5 + 5: the ceiling of 10
        assert (await login(client("192.0.2.1"), PASSWORD)).status_code == 429
        assert (await login(client("192.0.2.2"), PASSWORD)).status_code == 429

        changed = await client("192.0.2.9").patch(
            f"/api/users/{user['id']}",
            json={"password": "a brand new passphrase", "current_password": PASSWORD},
            headers=bearer(session["access_token"]),
        )
        after = await login(client("192.0.2.1"), "a brand new passphrase")

    assert changed.status_code == 200
    assert after.status_code == 200
