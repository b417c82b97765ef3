"""Time and identity: the two kinds of non-determinism the domain needs."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from usermgmt.domain.credentials import CredentialId
from usermgmt.domain.model import SessionId, TokenId, UserId


class Clock(Protocol):
    """Tells the time."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware, in UTC."""
        ...


class IdGenerator(Protocol):
    """Makes identifiers and secrets that nobody can predict."""

    def new_user_id(self) -> UserId:
        """Return a fresh user id."""
        ...

    def new_session_id(self) -> SessionId:
        """Return a fresh session id."""
        ...

    def new_credential_id(self) -> CredentialId:
        """Return a fresh credential id."""
        ...

    def new_token_id(self) -> TokenId:
        """Return a fresh access-token id (the ``jti`` claim)."""
        ...

    def new_secret(self) -> str:
        """Return a fresh URL-safe secret of at least 256 random bits."""
        ...
