"""The throttle's rules: who one client is, which counters an attempt touches, the back-off."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from usermgmt.domain.rules.throttle import FailureRecord, LoginThrottlePolicy, client_of

NOW = datetime(2026, 5, 1, tzinfo=UTC)
POLICY = LoginThrottlePolicy()


def _record(failures: int, seconds_ago: float = 0) -> FailureRecord:
    return FailureRecord(failures=failures, last_failure_at=NOW - timedelta(seconds=seconds_ago))


def _wait(pair: FailureRecord | None, account: FailureRecord | None, **numbers: int) -> int | None:
    """The wait an attempt from a known client faces, ``None`` when it may go ahead."""
    policy = LoginThrottlePolicy(**numbers)  # type: ignore[arg-type]  # keyword pass-through
    attempt = policy.attempt("ann@example.org", "10.0.0.1")
    if not any(attempt.waits((pair, account), NOW)):
        return None
    return policy.retry_after(attempt, (pair, account), NOW)


# --- the back-off ---------------------------------------------------------------------------


def test_attempts_are_free_below_the_threshold() -> None:
    """Four failures from one client cost nothing yet."""
    assert _wait(_record(4), _record(4)) is None


def test_the_wait_doubles_with_each_failure_past_the_threshold() -> None:
    """The fifth failure locks for 1 s, the sixth for 2 s, the seventh for 4 s."""
    assert [_wait(_record(n), None) for n in (5, 6, 7)] == [1, 2, 4]


def test_the_wait_is_capped() -> None:
    """However many failures, the wait stays bounded: time-based unlock always comes."""
    assert _wait(_record(90), None) == 15 * 60


def test_the_lock_expires() -> None:
    """Once the wait has passed, the next attempt is allowed."""
    assert _wait(_record(7, seconds_ago=4), None) is None


def test_the_account_ceiling_applies_to_every_client() -> None:
    """100 failures on the account lock it for a client that has none of its own."""
    assert _wait(None, _record(100)) == 1


def test_old_failures_are_forgotten() -> None:
    """A counter idle for longer than a day no longer throttles."""
    old = _record(50, seconds_ago=timedelta(days=1, seconds=1).total_seconds())

    assert _wait(old, old, max_delay=timedelta(days=2)) is None  # type: ignore[arg-type]


def test_a_zero_threshold_disables_that_counter() -> None:
    """0 turns the per-client throttle off."""
    assert _wait(_record(1000), None, per_client=0) is None


def test_the_schedule_lists_each_doubling_up_to_the_cap() -> None:
    """The stores get the lock durations themselves: 1, 2, 4 … 512 s, then 15 minutes."""
    locks = POLICY.schedule().locks

    assert locks == (*(timedelta(seconds=2**n) for n in range(10)), timedelta(minutes=15))


def test_a_schedule_without_a_cap_in_reach_stops_after_32_doublings() -> None:
    """A huge cap still gives a finite schedule; its last lock repeats from there on."""
    schedule = LoginThrottlePolicy(max_delay=timedelta(days=10**6)).schedule()

    assert len(schedule.locks) == 33
    assert schedule.lock_after(1000, 5) == timedelta(seconds=2**32)


def test_a_refused_attempt_always_waits_at_least_a_second() -> None:
    """Retry-After is never 0, even for a lock that ends within the second."""
    attempt = POLICY.attempt("ann@example.org", "10.0.0.1")

    assert POLICY.retry_after(attempt, (_record(5, seconds_ago=0.999), None), NOW) == 1


# --- counters -------------------------------------------------------------------------------


@given(st.text(max_size=30), st.text(max_size=30))
def test_throttle_keys_reveal_nothing(email: str, client: str) -> None:
    """Stored keys are digests: no address or IP can be read from them."""
    attempt = POLICY.attempt(email, client)

    keys = [attempt.account, *(c.key for c in attempt.counters)]
    assert all(len(k) == 64 and int(k, 16) >= 0 for k in keys)
    assert len(set(keys[1:])) == 2


def test_an_attempt_counts_per_pair_and_per_account() -> None:
    """An ordinary attempt: the pair at the per-client threshold, the account at its ceiling."""
    attempt = POLICY.attempt("ann@example.org", "10.0.0.1")

    pair, account = attempt.counters
    assert (pair.threshold, account.threshold) == (5, 100)
    assert account.key == attempt.account == LoginThrottlePolicy.account_key("ann@example.org")


def test_a_device_attempt_counts_per_pair_and_per_device_not_per_account() -> None:
    """A device token trades the account's ceiling for a per-client threshold of its own."""
    plain = POLICY.attempt("ann@example.org", "10.0.0.1")
    trusted = POLICY.attempt("ann@example.org", "10.0.0.1", device="ab" * 32)

    pair, device = trusted.counters
    assert pair == plain.counters[0]
    assert device.threshold == 5
    assert device.key != trusted.account
    assert trusted.account == plain.account


def test_a_device_attempt_refused_by_its_device_alone_is_told_apart() -> None:
    """Only a lock on the device counter itself makes the token worthless."""
    trusted = POLICY.attempt("ann@example.org", "10.0.0.1", device="ab" * 32)

    by_device = POLICY.locked_only_by_device(trusted, (None, _record(5)), NOW)
    by_pair = POLICY.locked_only_by_device(trusted, (_record(5), _record(5)), NOW)

    assert (by_device, by_pair) == (True, False)


# --- who one client is ----------------------------------------------------------------------


def test_an_ipv4_address_is_its_own_client() -> None:
    """Neighbouring IPv4 addresses are different clients."""
    assert client_of("192.0.2.1") != client_of("192.0.2.2")
    assert client_of(" 192.0.2.1 ") == "192.0.2.1"


def test_an_ipv4_mapped_address_is_the_ipv4_address() -> None:
    """A dual-stack server's ::ffff:a.b.c.d is the same client as a.b.c.d."""
    assert client_of("::ffff:192.0.2.1") == client_of("192.0.2.1") == "192.0.2.1"


@given(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1))
def test_ipv6_addresses_are_grouped_by_their_64(prefix: int, host: int, other: int) -> None:
    """Any two addresses in one /64 are one client, named by that /64."""
    one = ipaddress.IPv6Address(prefix << 64 | host)
    two = ipaddress.IPv6Address(prefix << 64 | other)
    if one.ipv4_mapped or two.ipv4_mapped:
        return  # ::ffff:0:0/96 is IPv4, tested above

    assert client_of(str(one)) == client_of(two.exploded)
    assert client_of(str(one)) == str(ipaddress.IPv6Network((prefix << 64, 64)))


@given(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1))
def test_different_64s_are_different_clients(prefix: int, other: int, host: int) -> None:
    """Addresses whose first 64 bits differ are never one client."""
    if prefix == other:
        return

    assert client_of(str(ipaddress.IPv6Address(prefix << 64 | host))) != client_of(
        str(ipaddress.IPv6Address(other << 64 | host))
    )


def test_an_ipv6_zone_does_not_make_another_client() -> None:
    """fe80::1%eth0 and fe80::2%eth1 are in one /64."""
    assert client_of("fe80::1%eth0") == client_of("fe80::2%eth1") == "fe80::/64"


@pytest.mark.parametrize("name", ["", "testclient", "unix:/run/app.sock", "[::1]"])
def test_anything_but_an_address_is_its_own_client(name: str) -> None:
    """A name that is no IP address is kept as it is (it is hashed before it is stored)."""
    assert client_of(name) == name
