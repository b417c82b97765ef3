"""Delivering events: how many at a time, how long a claim holds, when to retry, when to stop."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

import attrs

_MAX_DOUBLINGS: Final = 32
"""Past this many doublings every delay is the ceiling anyway; the cap keeps the number small."""


@attrs.frozen(kw_only=True)
class DeliveryPolicy:
    """The dispatcher's numbers.

    A failed delivery is retried after *first_retry*, doubling at each further
    failure up to *max_retry*; after *max_attempts* attempts the event is
    given up. The defaults retry for about eight hours (1 s, 2 s, … 34 min,
    then hourly) before giving up.
    """

    batch_size: int = 100
    """Events leased by one claim."""
    lease: timedelta = timedelta(seconds=60)
    """How long a claim holds its events: a dispatcher that dies leaves them to others this late."""
    handler_timeout: timedelta = timedelta(seconds=10)
    """How long the subscribers of one event may take before the attempt counts as failed."""
    max_attempts: int = 20
    first_retry: timedelta = timedelta(seconds=1)
    max_retry: timedelta = timedelta(hours=1)
    poll_interval: timedelta = timedelta(seconds=1)
    """How long a running dispatcher waits between two passes over the outbox."""

    def __attrs_post_init__(self) -> None:
        """Refuse numbers the dispatcher cannot work with.

        Raises:
            ValueError: a count below one, or a lease not longer than the handler timeout.
        """
        if self.batch_size < 1 or self.max_attempts < 1:
            msg = "batch_size and max_attempts must be at least 1"
            raise ValueError(msg)
        if self.lease <= self.handler_timeout:
            msg = "the lease must be longer than the handler timeout"
            raise ValueError(msg)

    def retry_delay(self, attempt: int) -> timedelta:
        """Return how long to wait after failed attempt number *attempt* (1 for the first)."""
        doublings = min(max(attempt - 1, 0), _MAX_DOUBLINGS)
        return min(self.first_retry * (1 << doublings), self.max_retry)

    def gives_up_after(self, attempt: int) -> bool:
        """Return whether failed attempt number *attempt* is the last one."""
        return attempt >= self.max_attempts
