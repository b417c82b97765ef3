"""Clocks and identifier generators."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

from usermgmt.domain.credentials import CredentialId
from usermgmt.domain.model import SessionId, TokenId, UserId


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        """Return the current time."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to: for tests and simulations."""

    def __init__(self, start: datetime | None = None) -> None:
        """Stand at *start* (default: 2026-01-01 UTC)."""
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        """Return the time this clock stands at."""
        return self._now

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by *delta*."""
        self._now += delta


class RandomIdGenerator:
    """Random UUIDs (version 4) and 256-bit URL-safe secrets from the OS's CSPRNG."""

    def new_user_id(self) -> UserId:
        """Return a fresh user id."""
        return UserId(uuid.uuid4())

    def new_session_id(self) -> SessionId:
        """Return a fresh session id."""
        return SessionId(uuid.uuid4())

    def new_credential_id(self) -> CredentialId:
        """Return a fresh credential id."""
        return CredentialId(uuid.uuid4())

    def new_token_id(self) -> TokenId:
        """Return a fresh token id."""
        return TokenId(uuid.uuid4())

    def new_secret(self) -> str:
        """Return 256 random bits, URL-safe base64."""
        return secrets.token_urlsafe(32)
