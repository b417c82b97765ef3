"""Password hashing with argon2id (argon2-cffi), off the event loop, shedding what it cannot do."""

from __future__ import annotations

import asyncio
import base64
import functools
import math
import os
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Final, TypeVar

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

from usermgmt.domain.errors import OverloadedError

T = TypeVar("T")

MAX_BACKLOG: Final = 2.0
"""Seconds of hashing that may wait for a free lane; work beyond that is refused."""

_SMOOTHING: Final = 0.2  # weight of the newest duration in the running estimate


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii").rstrip("=")


class Argon2PasswordHasher:
    """argon2id with argon2-cffi's parameters (RFC 9106's low-memory profile by default).

    Hashing and verification run on a pool of worker threads (the *lanes*)
    sized to the CPU count: they never block the event loop, and never
    oversubscribe the CPU. Waiting work queues inside the pool, so a thread
    that finishes a hash takes the next one at once, without a round trip
    through a busy event loop: the hashing rate holds up while the loop serves
    a flood of cheap requests.

    The queue is bounded in time, not in length: the hasher keeps a running
    estimate of one hash's duration, and when the work already waiting would
    keep the lanes busy for more than *max_backlog* seconds, a new hash or
    verification raises :class:`OverloadedError` at once, before it is queued.
    A flood of logins then gets fast refusals with a ``Retry-After`` instead of
    answers that come ever later, and everything that does not hash is not
    slowed at all. Until the first hash has been timed nothing is refused.
    """

    def __init__(
        self,
        hasher: argon2.PasswordHasher | None = None,
        *,
        max_concurrency: int | None = None,
        max_backlog: float = MAX_BACKLOG,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        """Hash with *hasher*'s parameters on *max_concurrency* lanes (default: CPU count).

        Args:
            hasher: the argon2-cffi hasher whose parameters apply.
            max_concurrency: how many hashes run at once.
            max_backlog: seconds of waiting work beyond which new work is refused.
            timer: the clock that times each hash (seconds, monotonic).
        """
        self._hasher = hasher or argon2.PasswordHasher()
        self._lanes = max_concurrency or os.cpu_count() or 1
        self._max_backlog = max_backlog
        self._timer = timer
        self._pool: ThreadPoolExecutor | None = None
        # The two below are shared by the event loop(s) and the worker threads.
        self._lock = threading.Lock()
        self._pending = 0  # submitted and not finished: waiting or running
        self._seconds_per_hash: float | None = None  # running estimate; None until one is timed
        self._observers: tuple[Callable[[float], None], ...] = ()
        # Verifying against this costs exactly what a real verification costs at the current
        # parameters: the digest is random, so no password matches it.
        self._dummy_hash = (
            f"$argon2id$v=19$m={self._hasher.memory_cost},t={self._hasher.time_cost},"
            f"p={self._hasher.parallelism}${_b64(secrets.token_bytes(self._hasher.salt_len))}"
            f"${_b64(secrets.token_bytes(self._hasher.hash_len))}"
        )

    @property
    def lanes(self) -> int:
        """How many hashes run at once; more wait for a free lane."""
        return self._lanes

    def observe(self, observer: Callable[[float], None]) -> None:
        """Call *observer* with the seconds each hash or verification took, once it is done.

        It is called on the worker thread that did the work, so it must be
        thread-safe and quick (a metrics histogram, say); time spent waiting
        for a lane is not counted.
        """
        self._observers = (*self._observers, observer)

    def backlog(self) -> float:
        """Return the seconds the lanes need for the work waiting now (0 before any timing)."""
        with self._lock:
            return self._backlog()

    def check_capacity(self) -> None:
        """Refuse now what :meth:`hash` or :meth:`verify` would refuse if called now.

        Raises:
            OverloadedError: too much hashing is waiting already.
        """
        with self._lock:
            self._admissible()

    def _backlog(self) -> float:
        waiting = max(0, self._pending - self._lanes)
        return waiting * (self._seconds_per_hash or 0.0) / self._lanes

    def _admissible(self) -> None:
        backlog = self._backlog()
        if backlog >= self._max_backlog:
            raise OverloadedError(retry_after=max(1, math.ceil(backlog)))

    async def _run(self, work: Callable[[], T]) -> T:
        with self._lock:
            self._admissible()
            self._pending += 1
        try:
            if self._pool is None:  # threads start on demand, up to the limit
                self._pool = ThreadPoolExecutor(self._lanes, thread_name_prefix="argon2")
            future = self._pool.submit(self._timed, work)
        except BaseException:
            self._finished(None)
            raise
        future.add_done_callback(self._finished)  # also when cancelled before it started
        return await asyncio.wrap_future(future)

    def _timed(self, work: Callable[[], T]) -> T:
        start = self._timer()
        try:
            return work()
        finally:
            took = self._timer() - start
            with self._lock:
                estimate = self._seconds_per_hash
                self._seconds_per_hash = (
                    took if estimate is None else estimate + _SMOOTHING * (took - estimate)
                )
            for observer in self._observers:
                observer(took)

    def _finished(self, _future: object) -> None:
        with self._lock:
            self._pending -= 1

    async def hash(self, password: str) -> str:
        """Return a new salted hash of *password*.

        Raises:
            OverloadedError: too much hashing is waiting already.
        """
        return await self._run(functools.partial(self._hasher.hash, password))

    async def verify(self, password: str, password_hash: str | None) -> bool:
        """Return whether *password* matches; with no hash, burn the same time and say no.

        Raises:
            OverloadedError: too much hashing is waiting already.
        """
        target = password_hash or self._dummy_hash
        return await self._run(functools.partial(self._verify, password, target))

    async def aclose(self) -> None:
        """Let the worker threads go; queued work that has not started is dropped."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _verify(self, password: str, password_hash: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """Return whether *password_hash* was made with other parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True
