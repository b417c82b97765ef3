"""The argon2id hasher: format, no truncation, upgrades, off the event loop, load shedding."""

from __future__ import annotations

import itertools
import os
import re
import threading
import time

import anyio
import anyio.lowlevel
import argon2
import pytest

from usermgmt import OverloadedError, Settings
from usermgmt._service.factories import argon2_hasher
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


@pytest.mark.parametrize(("configured", "lanes"), [(None, os.cpu_count() or 1), (1, 1), (3, 3)])
def test_the_hash_concurrency_setting_sets_the_lanes(configured: int | None, lanes: int) -> None:
    """USERMGMT_HASH_CONCURRENCY, one lane per core where it is not set."""
    settings = Settings(hash_concurrency=configured)

    assert argon2_hasher(settings).lanes == lanes
    assert Settings.from_env(settings.to_env()).hash_concurrency == configured


class Gated(argon2.PasswordHasher):
    """argon2 at its cheapest, whose hashes wait until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.gate = threading.Event()
        self.gate.set()
        self.hashed = 0

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.gate.wait(timeout=30)
        self.hashed += 1
        return super().hash(password, salt=salt)


def _one_second_per_hash() -> tuple[Gated, Argon2PasswordHasher]:
    """Two lanes, and a timer that makes each hash (run alone) take exactly one second."""
    ticks = itertools.count()
    gated = Gated()
    return gated, Argon2PasswordHasher(gated, max_concurrency=2, timer=lambda: float(next(ticks)))


async def _flood(hasher: Argon2PasswordHasher, gated: Gated, count: int) -> list[int | None]:
    """Start *count* hashes while the gate is closed, then open it; return each outcome.

    An outcome is ``None`` for a hash that was done, or the ``retry_after`` of a refusal.
    """
    outcomes: list[int | None] = []
    started = 0

    async def attempt() -> None:
        nonlocal started
        started += 1
        try:
            await hasher.hash("correct horse battery")
            outcomes.append(None)
        except OverloadedError as refused:
            outcomes.append(refused.retry_after)

    gated.gate.clear()
    async with anyio.create_task_group() as tg:
        for _ in range(count):
            tg.start_soon(attempt)
        while started < count:  # each attempt is admitted or refused as it starts
            await anyio.lowlevel.checkpoint()
        gated.gate.set()
    return outcomes


async def test_work_beyond_two_seconds_of_backlog_is_refused_before_it_is_queued() -> None:
    """At 1 s a hash on 2 lanes, 4 waiting hashes are 2 s of work: the next ones are refused."""
    gated, hasher = _one_second_per_hash()
    await hasher.hash("timed once")

    outcomes = await _flood(hasher, gated, 10)

    assert outcomes.count(None) == 6  # 2 running and 4 waiting
    assert sorted(o for o in outcomes if o is not None) == [2, 2, 2, 2]
    assert gated.hashed == 1 + 6  # refused work never reached argon2
    await hasher.aclose()


async def test_after_a_flood_the_hasher_takes_work_again() -> None:
    """Refusals and finished work leave nothing counted as waiting."""
    gated, hasher = _one_second_per_hash()
    await hasher.hash("timed once")
    await _flood(hasher, gated, 10)

    again = await hasher.hash("correct horse battery")

    assert again.startswith("$argon2id$")
    assert hasher._pending == 0
    assert hasher.backlog() == 0
    await hasher.aclose()


async def test_cancelled_waiting_work_gives_its_place_back() -> None:
    """Work cancelled while it waited for a lane no longer counts against the backlog."""
    gated, hasher = _one_second_per_hash()
    await hasher.hash("timed once")
    gated.gate.clear()
    with anyio.move_on_after(0.2):
        async with anyio.create_task_group() as tg:
            for _ in range(6):
                tg.start_soon(hasher.hash, "correct horse battery")
    gated.gate.set()

    with anyio.fail_after(10):
        while hasher._pending:  # noqa: ASYNC110 - a counter the worker threads update
            await anyio.sleep(0.01)

    assert await hasher.verify("x", None) is False
    await hasher.aclose()


async def test_nothing_is_refused_before_a_hash_has_been_timed() -> None:
    """Without an estimate of a hash's cost, the hasher cannot tell a flood: it queues."""
    gated, hasher = _one_second_per_hash()

    outcomes = await _flood(hasher, gated, 20)

    assert outcomes == [None] * 20
    await hasher.aclose()


async def test_verification_is_shed_like_hashing() -> None:
    """A login's verification is refused on the same terms, before it is queued."""
    gated, hasher = _one_second_per_hash()
    await hasher.hash("timed once")
    gated.gate.clear()
    async with anyio.create_task_group() as tg:
        for _ in range(6):
            tg.start_soon(hasher.hash, "correct horse battery")
        await anyio.lowlevel.checkpoint()

        with pytest.raises(OverloadedError) as refused:
            await hasher.verify("correct horse battery", None)
        gated.gate.set()

    assert refused.value.retry_after == 2
    await hasher.aclose()


async def test_capacity_can_be_checked_before_any_work() -> None:
    """``check_capacity`` refuses exactly when a hash would be refused, and queues nothing."""
    gated, hasher = _one_second_per_hash()
    await hasher.hash("timed once")
    hasher.check_capacity()  # room: nothing happens
    gated.gate.clear()
    async with anyio.create_task_group() as tg:
        for _ in range(6):
            tg.start_soon(hasher.hash, "correct horse battery")
        await anyio.lowlevel.checkpoint()

        with pytest.raises(OverloadedError):
            hasher.check_capacity()
        pending = hasher._pending
        gated.gate.set()

    assert pending == 6
    await hasher.aclose()


async def test_observers_get_the_time_of_each_hash_and_verification() -> None:
    """Every observer hears of each hash and each verification, with the time it took."""
    ticks = itertools.count(step=0.25)
    hasher = Argon2PasswordHasher(CHEAP, timer=lambda: float(next(ticks)))
    heard: list[float] = []
    also: list[float] = []
    hasher.observe(heard.append)
    hasher.observe(also.append)

    digest = await hasher.hash("correct horse battery")
    await hasher.verify("correct horse battery", digest)
    await hasher.verify("wrong", None)
    await hasher.aclose()

    assert heard == [0.25, 0.25, 0.25]
    assert also == heard
