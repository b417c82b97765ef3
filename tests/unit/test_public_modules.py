"""The public modules for embedders: ``usermgmt.errors`` and ``usermgmt.testing``."""

from __future__ import annotations

from datetime import timedelta

import pytest

import usermgmt
import usermgmt.errors
from tests.errors import domain_errors
from usermgmt import Settings
from usermgmt.errors import (
    AuthenticationError,
    ConflictError,
    EmailTakenError,
    InvalidEmailError,
    InvalidPageError,
    InvalidTokenError,
    LastAdminError,
    MailDeliveryError,
    NotFoundError,
    PermanentMailError,
    PermissionDeniedError,
    RefreshTokenReusedError,
    SchemaOutdatedError,
    SessionNotFoundError,
    TransientMailError,
    UnavailableError,
    UserMgmtError,
    UserNotDeletedError,
    ValidationError,
    ValueTooLongError,
    WeakPasswordError,
    WrongPasswordError,
)
from usermgmt.testing import ManualClock, memory_service

pytestmark = pytest.mark.anyio


def test_every_public_name_resolves_to_the_object_its_module_defines() -> None:
    """``usermgmt`` imports its names on first use; each is the defining module's own object."""
    import importlib  # noqa: PLC0415

    for name in usermgmt.__all__:
        value = getattr(usermgmt, name)
        if name == "__version__":
            assert isinstance(value, str)
            assert value
            continue
        home = importlib.import_module(usermgmt._EXPORTS[name])
        assert value is getattr(home, name), name
    assert set(usermgmt._EXPORTS) | {"__version__"} == set(usermgmt.__all__)
    assert set(usermgmt.__all__) <= set(dir(usermgmt))


def test_an_unknown_name_is_an_attribute_error() -> None:
    """A name ``usermgmt`` does not export raises AttributeError, naming it."""
    with pytest.raises(AttributeError, match="'NoSuchThing'"):
        _ = usermgmt.NoSuchThing  # type: ignore[attr-defined]


def test_usermgmt_errors_publishes_every_domain_error() -> None:
    """Every UserMgmtError subclass, and nothing else, is in ``usermgmt.errors.__all__``."""
    published = {name: getattr(usermgmt.errors, name) for name in usermgmt.errors.__all__}

    assert set(published.values()) == set(domain_errors(with_root=True))
    assert all(cls.__name__ == name for name, cls in published.items())


def test_usermgmt_errors_are_the_classes_usermgmt_raises() -> None:
    """An error imported from ``usermgmt.errors`` is the very class ``usermgmt`` exports."""
    for name in usermgmt.errors.__all__:
        assert getattr(usermgmt, name) is getattr(usermgmt.errors, name), name


def test_the_error_categories_hold_their_leaves() -> None:
    """The categories a caller catches are the ones docs/library.md lists for each leaf."""
    assert issubclass(EmailTakenError, ConflictError)
    assert issubclass(LastAdminError, ConflictError)
    assert issubclass(UserNotDeletedError, NotFoundError)
    assert issubclass(SessionNotFoundError, NotFoundError)
    assert issubclass(RefreshTokenReusedError, InvalidTokenError)
    assert issubclass(InvalidTokenError, AuthenticationError)
    assert issubclass(WrongPasswordError, PermissionDeniedError)
    assert issubclass(SchemaOutdatedError, UnavailableError)
    assert issubclass(TransientMailError, MailDeliveryError)
    assert issubclass(PermanentMailError, MailDeliveryError)
    for leaf in (InvalidEmailError, WeakPasswordError, ValueTooLongError, InvalidPageError):
        assert issubclass(leaf, ValidationError)
    for name in usermgmt.errors.__all__:
        assert issubclass(getattr(usermgmt.errors, name), UserMgmtError)


async def test_memory_service_hashes_cheaply_unless_told_not_to() -> None:
    """The testing service uses argon2's cheapest parameters on top of the settings given."""
    given = Settings(access_token_ttl=60, argon2_time_cost=4)

    cheap = memory_service(given)
    as_given = memory_service(given, cheap_hashing=False)

    assert (cheap.settings.argon2_time_cost, cheap.settings.argon2_memory_cost) == (1, 8)
    assert cheap.settings.argon2_parallelism == 1
    assert cheap.settings.access_token_ttl == 60
    assert as_given.settings.argon2_time_cost == 4


async def test_memory_service_runs_on_the_clock_it_is_given() -> None:
    """Moving the manual clock past the access token's lifetime makes the token invalid."""
    clock = ManualClock()
    async with memory_service(clock=clock) as um:
        await um.register_user("ann@example.org", "correct horse battery")
        tokens = await um.authenticate("ann@example.org", "correct horse battery")
        assert (await um.validate_access_token(tokens.access_token)).user.name == ""

        clock.advance(timedelta(seconds=um.settings.access_token_ttl))

        with pytest.raises(InvalidTokenError):
            await um.validate_access_token(tokens.access_token)


def test_memory_service_serves_blocking_callers() -> None:
    """The blocking facade of the testing service runs the same use cases."""
    with memory_service().blocking() as um:
        user = um.register_user("bob@example.org", "correct horse battery", "Bob")

        found = um.get_user(user.id, actor=usermgmt.SYSTEM)

    assert found == user
