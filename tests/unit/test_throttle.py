"""The throttle's rules: which counters an attempt touches, and the back-off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from usermgmt.domain.throttle import FailureRecord, LoginThrottlePolicy

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


# --- counters ----------------------------------------------------------------------------


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
