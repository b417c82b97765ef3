"""The dispatcher's back-off: 1 s doubling to an hour, then giving up."""

from __future__ import annotations

from datetime import timedelta

import pytest

from usermgmt.domain.rules.delivery import DeliveryPolicy


@pytest.mark.parametrize(
    ("attempt", "seconds"),
    [(1, 1), (2, 2), (3, 4), (11, 1024), (12, 2048), (13, 3600), (20, 3600), (10**9, 3600)],
)
def test_the_delay_doubles_from_a_second_up_to_an_hour(attempt: int, seconds: int) -> None:
    """After failed attempt *n* the event waits 2^(n-1) seconds, never more than an hour."""
    assert DeliveryPolicy().retry_delay(attempt) == timedelta(seconds=seconds)


def test_the_default_gives_up_after_twenty_attempts_about_eight_hours_on() -> None:
    """Twenty attempts, the last one about eight hours after the first."""
    policy = DeliveryPolicy()

    waited = sum((policy.retry_delay(n) for n in range(1, 20)), timedelta())

    assert [policy.gives_up_after(n) for n in (1, 19, 20, 21)] == [False, False, True, True]
    assert timedelta(hours=8) < waited < timedelta(hours=8, minutes=10)


@pytest.mark.parametrize(
    "numbers",
    [
        {"batch_size": 0},
        {"max_attempts": 0},
        {"lease": timedelta(seconds=10), "handler_timeout": timedelta(seconds=10)},
    ],
)
def test_numbers_the_dispatcher_cannot_work_with_are_refused(numbers: dict[str, object]) -> None:
    """No empty batches, no zero attempts, no lease that a single delivery could outlast."""
    with pytest.raises(ValueError, match="must be"):
        DeliveryPolicy(**numbers)  # type: ignore[arg-type]  # the numbers under test
