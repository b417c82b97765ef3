"""The PostgreSQL implementation of Litestar's ``Store``, which holds rate-limit windows."""

from __future__ import annotations

import secrets
from datetime import timedelta

import anyio
import pytest

from usermgmt.adapters.postgres import PostgresDatabase
from usermgmt.adapters.postgres.store import PostgresStore

pytestmark = pytest.mark.anyio


@pytest.fixture
def store(database: PostgresDatabase) -> PostgresStore:
    """A store in its own namespace."""
    return PostgresStore(database.pool, namespace="tests")


async def test_a_value_set_is_read_back_as_bytes(store: PostgresStore) -> None:
    """Strings and bytes go in; bytes come out."""
    await store.set("text", "hello")
    await store.set("raw", b"\x00\xff")

    assert await store.get("text") == b"hello"
    assert await store.get("raw") == b"\x00\xff"
    assert await store.get("missing") is None


async def test_setting_a_key_again_replaces_value_and_expiry(store: PostgresStore) -> None:
    """The last write wins, expiry included."""
    await store.set("key", "first", expires_in=60)
    await store.set("key", "second")

    assert await store.get("key") == b"second"
    assert await store.expires_in("key") is None


async def test_an_expired_value_is_gone(store: PostgresStore) -> None:
    """After its lifetime a value reads as absent, and does not exist."""
    await store.set("brief", "x", expires_in=timedelta(milliseconds=50))
    await anyio.sleep(0.1)

    assert await store.get("brief") is None
    assert await store.exists("brief") is False


async def test_expires_in_counts_down_whole_seconds(store: PostgresStore) -> None:
    """A value set for a minute expires in 59 or 60 seconds; one without expiry never."""
    await store.set("minute", "x", expires_in=60)
    await store.set("forever", "x")

    assert await store.expires_in("minute") in {59, 60}
    assert await store.expires_in("forever") is None
    assert await store.expires_in("missing") is None


async def test_renewing_on_read_extends_only_values_that_expire(store: PostgresStore) -> None:
    """``get(renew_for=...)`` pushes the expiry back, and leaves permanent values permanent."""
    await store.set("session", "x", expires_in=5)
    await store.set("forever", "x")

    assert await store.get("session", renew_for=600) == b"x"
    assert await store.get("forever", renew_for=600) == b"x"
    assert await store.expires_in("session") in {599, 600}
    assert await store.expires_in("forever") is None


async def test_deletes_stay_within_the_namespace(
    store: PostgresStore, database: PostgresDatabase
) -> None:
    """``delete`` forgets one key, ``delete_all`` this namespace only."""
    neighbour = PostgresStore(database.pool, namespace="neighbour")
    for target in (store, neighbour):
        await target.set("a", "1")
        await target.set("b", "2")

    await store.delete("a")
    await store.delete("never-set")
    assert (await store.exists("a"), await store.exists("b")) == (False, True)
    await store.delete_all()

    assert await store.exists("b") is False
    assert await neighbour.get("a") == b"1"


async def test_delete_expired_sweeps_only_expired_values(
    store: PostgresStore, database: PostgresDatabase
) -> None:
    """The sweep removes dead rows from every namespace and keeps live ones."""
    neighbour = PostgresStore(database.pool, namespace="neighbour")
    await store.set("dead", "x", expires_in=timedelta(milliseconds=10))
    await neighbour.set("dead", "x", expires_in=timedelta(milliseconds=10))
    await store.set("alive", "x", expires_in=60)
    await anyio.sleep(0.05)

    swept = await store.delete_expired()

    assert swept == 2
    assert await store.get("alive") == b"x"


async def test_keys_of_any_length_are_stored_as_fixed_size_digests(
    store: PostgresStore, database: PostgresDatabase
) -> None:
    """A 3,000-character key (more than the index takes) works, and is not stored as given."""
    key = "RateLimitMiddleware::" + secrets.token_hex(1500)  # random: it does not compress

    await store.set(key, "x", expires_in=60)
    found = await store.get(key)
    expires = await store.expires_in(key)
    async with database.pool.connection() as conn:
        cur = await conn.execute("SELECT key FROM key_value_store")
        stored = [row[0] for row in await cur.fetchall()]
    await store.delete(key)

    assert found == b"x"
    assert expires in {59, 60}
    assert [len(k) for k in stored] == [64]
    assert await store.exists(key) is False
