"""Hashing passwords and signing tokens."""

from __future__ import annotations

from typing import Protocol

from usermgmt.domain.model import AccessClaims


class PasswordHasher(Protocol):
    """Turns passwords into slow, salted hashes and checks them.

    Implementations must keep the work off the event loop. They may refuse
    work they cannot do soon by raising ``OverloadedError`` from ``hash`` or
    ``verify``, before doing any of it.
    """

    def check_capacity(self) -> None:
        """Raise ``OverloadedError`` if a hash asked for now would be refused.

        Use cases call it before any other work (a database read, a throttle
        count), so that a flood is refused at the cost of nothing.
        """
        ...

    async def hash(self, password: str) -> str:
        """Return a new hash of *password* with the current parameters."""
        ...

    async def verify(self, password: str, password_hash: str | None) -> bool:
        """Return whether *password* matches *password_hash*.

        With *password_hash* ``None`` (no such account) the implementation
        spends the same effort on a dummy hash and returns ``False``, so the
        two cases cannot be told apart by timing.
        """
        ...

    def needs_rehash(self, password_hash: str) -> bool:
        """Return whether *password_hash* was made with parameters other than the current ones."""
        ...


class TokenCodec(Protocol):
    """Signs and checks access tokens; the algorithm and key are the codec's business."""

    def encode(self, claims: AccessClaims) -> str:
        """Return a signed token asserting *claims*."""
        ...

    def decode(self, token: str) -> AccessClaims:
        """Return the claims of a token this codec signed and that has not expired.

        Raises:
            InvalidTokenError: bad signature, algorithm, type, issuer, audience or
                claims, or expired.
        """
        ...


class ServiceSecrets(Protocol):
    """Random keys the service makes for itself, the same for every instance that shares storage."""

    async def secret(self, purpose: str) -> bytes:
        """Return the 256-bit key kept for *purpose*, making it on first use.

        Every instance on the same storage gets the same key, so what one
        instance signs with it, every other verifies.
        """
        ...
