"""The argon2id hasher: format, no truncation, upgrades, and staying off the event loop."""

from __future__ import annotations

import re
import threading
import time

import anyio
import argon2
import pytest

from usermgmt.adapters.passwords import Argon2PasswordHasher

pytestmark = pytest.mark.anyio

CHEAP = argon2.PasswordHasher.from_parameters(argon2.profiles.CHEAPEST)


async def test_hashes_are_argon2id_with_the_default_parameters() -> None:
    """Defaults meet OWASP's floor: argon2id v19, m >= 19456 KiB, t >= 2, 16-byte salt."""
    hasher = Argon2PasswordHasher()

    stored = await hasher.hash("correct horse battery")

    match = re.fullmatch(r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([^$]+)\$([^$]+)", stored)
    assert match is not None
    memory, time_cost, lanes = (int(match[i]) for i in (1, 2, 3))
    assert memory >= 19456
    assert time_cost >= 2
    assert lanes >= 1
    assert len(match[4]) >= 22  # base64 of >= 16 bytes of salt


async def test_the_whole_password_counts() -> None:
    """A 100-byte password does not verify with its 72-byte prefix (no bcrypt-style truncation)."""
    hasher = Argon2PasswordHasher(CHEAP)
    password = "p" * 72 + "q" * 28

    stored = await hasher.hash(password)

    assert await hasher.verify(password, stored)
    assert not await hasher.verify(password[:72], stored)


async def test_a_missing_hash_never_verifies() -> None:
    """With no hash (unknown account) the answer is False, after the same work."""
    assert not await Argon2PasswordHasher(CHEAP).verify("anything", None)


async def test_malformed_hashes_do_not_verify() -> None:
    """A corrupt stored hash is a failed verification, not an exception."""
    assert not await Argon2PasswordHasher(CHEAP).verify("anything", "not-a-hash")


async def test_hashes_with_other_parameters_need_rehashing() -> None:
    """A hash made with weaker parameters is reported for upgrade; a current one is not."""
    weak = await Argon2PasswordHasher(CHEAP).hash("correct horse battery")
    current = Argon2PasswordHasher(
        argon2.PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    )

    assert current.needs_rehash(weak)
    assert not current.needs_rehash(await current.hash("correct horse battery"))


async def test_hashing_runs_off_the_event_loop() -> None:
    """The hash is computed in a worker thread, never on the loop's own thread."""
    threads: list[int] = []

    class Spy(argon2.PasswordHasher):
        def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
            threads.append(threading.get_ident())
            return super().hash(password, salt=salt)

    hasher = Argon2PasswordHasher(Spy.from_parameters(argon2.profiles.CHEAPEST))

    await hasher.hash("correct horse battery")

    assert threads
    assert threads[0] != threading.get_ident()


async def test_the_dummy_hash_uses_the_current_parameters() -> None:
    """Verifying an unknown account costs what a real verification costs."""
    hasher = Argon2PasswordHasher(argon2.PasswordHasher(time_cost=2, memory_cost=32, parallelism=2))

    assert not hasher.needs_rehash(hasher._dummy_hash)


def test_one_hasher_serves_successive_event_loops() -> None:
    """The worker pool belongs to no event loop: a service reopened on a new loop still hashes."""
    hasher = Argon2PasswordHasher(CHEAP)

    first = anyio.run(hasher.hash, "correct horse battery")
    verified = anyio.run(hasher.verify, "correct horse battery", first)

    assert verified
    anyio.run(hasher.aclose)


async def test_concurrency_is_bounded_by_the_pool() -> None:
    """No more hashes run at once than the pool has threads."""
    running = 0
    peak = 0
    lock = threading.Lock()

    class Slow(argon2.PasswordHasher):
        def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
            time.sleep(0.02)
            with lock:
                running -= 1
            return super().hash(password, salt=salt)

    hasher = Argon2PasswordHasher(Slow.from_parameters(argon2.profiles.CHEAPEST), max_concurrency=2)
    async with anyio.create_task_group() as tg:
        for _ in range(8):
            tg.start_soon(hasher.hash, "correct horse battery")
    await hasher.aclose()

    assert peak == 2
