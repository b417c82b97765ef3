"""The synchronous facade: the same use cases, called without async."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, assume, given, settings

from tests.strategies import emails, passwords
from usermgmt import SYSTEM, Email, EmailTakenError, Settings, UserManagement, VerificationMode
from usermgmt.events import Delivery, UserRegistered

CHEAP = Settings(argon2_time_cost=1, argon2_memory_cost=8, argon2_parallelism=1)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(email=emails(), password=passwords())
def test_registered_user_logs_in_with_that_password(email: str, password: str) -> None:
    """Whoever registers can authenticate with exactly that password."""
    assume(
        password.casefold() not in {email.casefold(), email.split("@", maxsplit=1)[0].casefold()}
    )
    with UserManagement.in_memory(CHEAP).blocking() as um:
        um.register_user(email, password)

        tokens = um.authenticate(email, password)

        assert um.validate_access_token(tokens.access_token).user.email == Email.parse(email)


def test_errors_cross_the_facade_unchanged() -> None:
    """Domain errors raised on the loop thread reach the synchronous caller as themselves."""
    with UserManagement.in_memory(CHEAP).blocking() as um:
        um.register_user("ann@example.org", "correct horse battery")

        with pytest.raises(EmailTakenError):
            um.register_user("ANN@example.org", "correct horse battery")
        assert um.list_users(actor=SYSTEM).total == 1


def test_facade_methods_keep_their_names_and_documentation() -> None:
    """help() on the facade shows the async method's docstring."""
    from usermgmt import BlockingUserManagement  # noqa: PLC0415

    assert BlockingUserManagement.register_user.__name__ == "register_user"
    assert BlockingUserManagement.register_user.__doc__ == UserManagement.register_user.__doc__


def test_a_plain_function_subscribes_and_the_blocking_dispatcher_delivers() -> None:
    """Synchronous code subscribes a plain function; ``dispatching()`` delivers meanwhile."""
    received: list[Delivery[UserRegistered]] = []
    quiet = CHEAP.evolve(email_verification=VerificationMode.OFF)  # one event per registration
    with UserManagement.in_memory(quiet).blocking() as um:
        um.subscribe(UserRegistered, received.append)
        user = um.register_user("ann@example.org", "correct horse battery")

        with um.dispatching():
            deadline = time.monotonic() + 10
            while not received and time.monotonic() < deadline:
                time.sleep(0.02)
        um.register_user("bob@example.org", "correct horse battery")
        one_pass = um.dispatch_events()

    assert [d.event.user_id for d in received][:1] == [user.id]
    assert one_pass == 1
    assert len(received) == 2
