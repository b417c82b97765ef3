"""Password hashing with argon2id (argon2-cffi), off the event loop."""

from __future__ import annotations

import asyncio
import base64
import functools
import os
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

T = TypeVar("T")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii").rstrip("=")


class Argon2PasswordHasher:
    """argon2id with argon2-cffi's parameters (RFC 9106's low-memory profile by default).

    Hashing and verification run on a pool of worker threads sized to the CPU
    count: they never block the event loop, and never oversubscribe the CPU.
    Waiting work queues inside the pool, so a thread that finishes a hash takes
    the next one at once, without a round trip through a busy event loop: the
    hashing rate holds up while the loop serves a flood of cheap requests.
    """

    def __init__(
        self, hasher: argon2.PasswordHasher | None = None, *, max_concurrency: int | None = None
    ) -> None:
        """Hash with *hasher*'s parameters, *max_concurrency* at a time (default: CPU count)."""
        self._hasher = hasher or argon2.PasswordHasher()
        self._max_concurrency = max_concurrency or os.cpu_count() or 1
        self._pool: ThreadPoolExecutor | None = None
        # Verifying against this costs exactly what a real verification costs at the current
        # parameters: the digest is random, so no password matches it.
        self._dummy_hash = (
            f"$argon2id$v=19$m={self._hasher.memory_cost},t={self._hasher.time_cost},"
            f"p={self._hasher.parallelism}${_b64(secrets.token_bytes(self._hasher.salt_len))}"
            f"${_b64(secrets.token_bytes(self._hasher.hash_len))}"
        )

    async def _run(self, work: Callable[[], T]) -> T:
        if self._pool is None:  # threads start on demand, up to the limit
            self._pool = ThreadPoolExecutor(self._max_concurrency, thread_name_prefix="argon2")
        return await asyncio.get_running_loop().run_in_executor(self._pool, work)

    async def hash(self, password: str) -> str:
        """Return a new salted hash of *password*."""
        return await self._run(functools.partial(self._hasher.hash, password))

    async def verify(self, password: str, password_hash: str | None) -> bool:
        """Return whether *password* matches; with no hash, burn the same time and say no."""
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
