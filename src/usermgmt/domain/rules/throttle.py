"""Login throttling: who one client is, which counters an attempt touches, how long they lock.

An attempt is *reserved* before its password is verified: the store checks
every counter of the attempt and, only if none is locked, counts the attempt
as a failure under all of them, in one atomic step. A success forgives the
reservation; an attempt that could not be verified at all is released. So N
guesses sent at once are throttled exactly like N guesses sent one after
another.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

import attrs

IPV6_CLIENT_PREFIX: Final = 64
"""IPv6 addresses are grouped by this prefix: one subscriber usually holds a whole /64."""

_MAX_DOUBLINGS: Final = 32
"""2**32 base delays dwarf any sane cap: the schedule stops growing there."""


def client_of(address: str) -> str:
    """Return the throttle client that *address* (an IP address, as the server saw it) belongs to.

    An IPv4 address is its own client; an IPv4-mapped IPv6 address is the
    IPv4 address it maps; any other IPv6 address is grouped with its /64
    (its zone, if any, is ignored). Anything that is not an IP address (a
    test client's name, ``""`` when there is none) is its own client.
    """
    text = address.strip()
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return text
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        host_bits = 128 - IPV6_CLIENT_PREFIX
        network = ipaddress.IPv6Network((int(ip) >> host_bits << host_bits, IPV6_CLIENT_PREFIX))
        return str(network)
    return str(ip)


def _digest(*parts: str) -> str:
    """Return the key a counter is stored under: stored counters reveal no address or IP."""
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


@attrs.frozen(kw_only=True)
class FailureRecord:
    """Consecutive failed logins counted under one throttle key."""

    failures: int
    last_failure_at: datetime


@attrs.frozen(kw_only=True)
class ThrottleCounter:
    """One counter an attempt is checked against and counted under."""

    key: str
    """A digest: what is counted (this account from this client, this account, ...)."""
    threshold: int
    """Failures after which the counter locks; 0 counts without ever locking."""


@attrs.frozen(kw_only=True)
class BackOffSchedule:
    """How long a counter stays locked, by how far its failures are past the threshold.

    The schedule's numbers, as a store needs them to decide atomically
    whether an attempt may go ahead: ``locks[i]`` is the lock that follows
    ``threshold + i`` failures, counted from the last one, and the last entry
    holds for every failure beyond. A counter with no failure for
    *forget_after* counts as empty.
    """

    locks: tuple[timedelta, ...] = attrs.field(validator=attrs.validators.min_len(1))
    forget_after: timedelta

    def stale_before(self, now: datetime) -> datetime:
        """Return the moment before which a last failure is forgotten, as seen at *now*."""
        return now - self.forget_after

    def lock_after(self, failures: int, threshold: int) -> timedelta | None:
        """Return the lock that *failures* past a counter's *threshold* impose, or ``None``."""
        if threshold <= 0 or failures < threshold:
            return None
        return self.locks[min(failures - threshold, len(self.locks) - 1)]

    def remaining(
        self, record: FailureRecord | None, threshold: int, now: datetime
    ) -> timedelta | None:
        """Return how long *record* stays locked after *now*, or ``None`` if it is not locked."""
        if record is None or record.last_failure_at < self.stale_before(now):
            return None
        lock = self.lock_after(record.failures, threshold)
        if lock is None:
            return None
        left = record.last_failure_at + lock - now
        return left if left > timedelta(0) else None


@attrs.frozen(kw_only=True)
class LoginAttempt:
    """What a store needs to reserve one login attempt atomically."""

    account: str
    """The digest of the account: every counter of an attempt belongs to it, so that
    a password change can clear them all."""
    counters: tuple[ThrottleCounter, ...]
    schedule: BackOffSchedule

    def waits(self, records: Sequence[FailureRecord | None], now: datetime) -> list[timedelta]:
        """Return the remaining lock of each counter (zero where it is not locked)."""
        return [
            self.schedule.remaining(record, counter.threshold, now) or timedelta(0)
            for counter, record in zip(self.counters, records, strict=True)
        ]


@attrs.frozen(kw_only=True)
class Reservation:
    """The outcome of reserving an attempt.

    *records* has one entry per counter of the attempt, in its order: after
    the reservation when it was admitted, as found when it was refused
    (``None`` where nothing is counted).
    """

    admitted: bool
    records: tuple[FailureRecord | None, ...]


@attrs.frozen(kw_only=True)
class LoginThrottlePolicy:
    """Exponential back-off after consecutive failures, per client and per account.

    Once *per_client* failures pile up for one (account, client) pair, that pair
    waits ``base_delay * 2**(failures - per_client)`` (capped at *max_delay*)
    after each further failure. The looser *per_account* ceiling applies the same
    back-off to every client, so guessing spread across many clients is bounded
    too, while one client alone cannot reach it quickly enough to lock the owner
    out. A device the owner signed in from before (its device token) is exempt
    from the ceiling: it is throttled by its own counter instead, with the
    per-client threshold. Locks expire by themselves; a success clears the
    attempt's counters, and so does a day without failures. A threshold of 0
    disables that counter.
    """

    per_client: int = 5
    per_account: int = 100
    base_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(minutes=15)
    forget_after: timedelta = timedelta(hours=24)
    """A counter with no failure for this long starts again from zero."""

    @staticmethod
    def account_key(email_key: str) -> str:
        """Return the digest that names the account *email_key* (the normalized email)."""
        return _digest("account", email_key)

    def schedule(self) -> BackOffSchedule:
        """Return the back-off schedule's numbers: the locks, doubling up to the cap."""
        locks = [min(self.base_delay, self.max_delay)]
        while locks[-1] < self.max_delay and len(locks) <= _MAX_DOUBLINGS:
            locks.append(min(locks[-1] * 2, self.max_delay))
        return BackOffSchedule(locks=tuple(locks), forget_after=self.forget_after)

    def attempt(self, email_key: str, client: str, *, device: str | None = None) -> LoginAttempt:
        """Return the attempt on *email_key* from *client* (an IP address).

        Without *device* it is counted per (account, client) and per account;
        with *device* (the digest of a valid device token of the account) per
        (account, client) and per device, exempt from the account's ceiling.
        Unknown emails get counters exactly like known ones, so a 429 never
        reveals that an account exists.
        """
        account = self.account_key(email_key)
        pair = ThrottleCounter(
            key=_digest("pair", email_key, client_of(client)), threshold=self.per_client
        )
        if device is None:
            second = ThrottleCounter(key=account, threshold=self.per_account)
        else:
            second = ThrottleCounter(key=_digest("device", device), threshold=self.per_client)
        return LoginAttempt(account=account, counters=(pair, second), schedule=self.schedule())

    def passkey_attempt(self, client: str) -> LoginAttempt:
        """Return a passkey sign-in's attempt from *client*, before it names an account.

        Counted per client alone (its own "account", so that clients never wait
        on each other's counters): the credential, not an email, names the
        account, and a client that keeps sending responses that do not verify
        is slowed down like one that keeps guessing passwords. Once the
        credential names an account, :meth:`attempt` counts it there too.
        """
        key = _digest("passkey", client_of(client))
        counter = ThrottleCounter(key=key, threshold=self.per_client)
        return LoginAttempt(account=key, counters=(counter,), schedule=self.schedule())

    def retry_after(
        self, attempt: LoginAttempt, records: Sequence[FailureRecord | None], now: datetime
    ) -> int:
        """Return the whole seconds a refused *attempt* waits before its next try (at least 1)."""
        wait = max(attempt.waits(records, now), default=timedelta(0))
        return max(1, math.ceil(wait.total_seconds()))

    @staticmethod
    def locked_only_by_device(
        attempt: LoginAttempt, records: Sequence[FailureRecord | None], now: datetime
    ) -> bool:
        """Whether a refused device-token *attempt* was refused by its device counter alone.

        A device token that has failed too often is then worth nothing: the
        attempt is retried as from an unknown device (with the account's
        ceiling), so a stolen token buys no more guesses than one more client.
        """
        *others, device = attempt.waits(records, now)
        return device > timedelta(0) and not any(others)
