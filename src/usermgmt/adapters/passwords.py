"""Password hashing with argon2id (argon2-cffi), off the event loop."""

from __future__ import annotations

import base64
import os
import secrets

import anyio
import anyio.to_thread
import argon2
from argon2.exceptions import InvalidHashError, VerificationError


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii").rstrip("=")


class Argon2PasswordHasher:
    """argon2id with argon2-cffi's parameters (RFC 9106's low-memory profile by default).

    Hashing and verification run in worker threads behind a limiter sized to
    the CPU count: they never block the event loop, and never oversubscribe the
    CPU so badly that every login slows down at once.
    """

    def __init__(
        self, hasher: argon2.PasswordHasher | None = None, *, max_concurrency: int | None = None
    ) -> None:
        """Hash with *hasher*'s parameters, *max_concurrency* at a time (default: CPU count)."""
        self._hasher = hasher or argon2.PasswordHasher()
        self._max_concurrency = max_concurrency or os.cpu_count() or 1
        self._limiter: anyio.CapacityLimiter | None = None
        # Verifying against this costs exactly what a real verification costs at the current
        # parameters: the digest is random, so no password matches it.
        self._dummy_hash = (
            f"$argon2id$v=19$m={self._hasher.memory_cost},t={self._hasher.time_cost},"
            f"p={self._hasher.parallelism}${_b64(secrets.token_bytes(self._hasher.salt_len))}"
            f"${_b64(secrets.token_bytes(self._hasher.hash_len))}"
        )

    @property
    def parameters(self) -> argon2.Parameters:
        """The parameters new hashes are made with."""
        return argon2.Parameters(
            type=self._hasher.type,
            version=19,
            salt_len=self._hasher.salt_len,
            hash_len=self._hasher.hash_len,
            time_cost=self._hasher.time_cost,
            memory_cost=self._hasher.memory_cost,
            parallelism=self._hasher.parallelism,
        )

    def _capacity(self) -> anyio.CapacityLimiter:
        if self._limiter is None:  # made on first use: it belongs to the running event loop
            self._limiter = anyio.CapacityLimiter(self._max_concurrency)
        return self._limiter

    async def hash(self, password: str) -> str:
        """Return a new salted hash of *password*."""
        return await anyio.to_thread.run_sync(self._hasher.hash, password, limiter=self._capacity())

    async def verify(self, password: str, password_hash: str | None) -> bool:
        """Return whether *password* matches; with no hash, burn the same time and say no."""
        return await anyio.to_thread.run_sync(
            self._verify, password, password_hash or self._dummy_hash, limiter=self._capacity()
        )

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
