"""The synchronous facade: the same use cases, called without async."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings

from tests.strategies import emails, passwords
from usermgmt import SYSTEM, Email, EmailTakenError, Settings, UserManagement

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
