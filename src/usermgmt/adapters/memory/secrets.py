"""The service's own keys in memory."""

from __future__ import annotations

import secrets


class InMemoryServiceSecrets:
    """The service's own keys, made on first use and kept as long as this object."""

    def __init__(self) -> None:
        """Start with no keys."""
        self._keys: dict[str, bytes] = {}

    async def secret(self, purpose: str) -> bytes:
        """Return the key for *purpose*, making it on first use."""
        return self._keys.setdefault(purpose, secrets.token_bytes(32))
