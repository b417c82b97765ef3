"""The facades' derived methods keep the use cases' types (mypy --strict checks this file).

``UserManagement``'s use-case methods are derived from the use cases' classes
and ``BlockingUserManagement``'s from those methods, so no signature is
written twice. mypy checks the ``assert_type`` lines below (this file is in
mypy's ``files``), and each ``type: ignore[...]`` must stay needed: were a
derived method typed ``Any``, strict mode would report the ignore as unused.
The tests themselves check the same at run time.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from usermgmt import (
    SYSTEM,
    AuditSlice,
    BlockingUserManagement,
    CeremonyId,
    MfaChallenge,
    PasskeyCeremony,
    PasskeyCredential,
    Principal,
    Readiness,
    Session,
    SessionId,
    TokenPair,
    TotpEnrolment,
    User,
    UserId,
    UserManagement,
    UserPage,
    UserSlice,
)
from usermgmt._service.methods import UseCaseMethod
from usermgmt.events import Delivery, Event, LoggedIn, UserDeleted


async def _typed_calls(
    um: UserManagement, user_id: UserId, principal: Principal, session_id: SessionId
) -> None:
    """Never run: mypy reads it."""
    from typing import assert_type  # noqa: PLC0415 - only mypy needs it

    assert_type(await um.register_user("ann@example.org", "correct horse battery"), User)
    assert_type(
        await um.authenticate("ann@example.org", "pw", client="192.0.2.1"), TokenPair | MfaChallenge
    )
    assert_type(await um.refresh("token"), TokenPair)
    assert_type(await um.validate_access_token("token"), Principal)
    assert_type(await um.logout(principal, all_sessions=True), None)
    assert_type(await um.get_user(user_id, actor=SYSTEM), User)
    assert_type(await um.find_user("ann@example.org", actor=SYSTEM), User)
    assert_type(await um.list_users(actor=SYSTEM, page=2), UserPage)
    assert_type(await um.list_users_after(actor=SYSTEM, cursor=None), UserSlice)
    assert_type(await um.update_user(user_id, actor=SYSTEM, name="Ann"), User)
    assert_type(await um.change_password(user_id, "new one", actor=principal), User)
    assert_type(await um.delete_user(user_id, actor=SYSTEM), None)
    assert_type(await um.restore_user(user_id, actor=SYSTEM), User)
    assert_type(await um.revoke_sessions(user_id, actor=SYSTEM), int)
    assert_type(await um.revoke_sessions(user_id, actor=SYSTEM, session_id=session_id), int)
    assert_type(await um.list_own_sessions(principal), tuple[Session, ...])
    assert_type(await um.list_sessions(user_id, actor=SYSTEM), tuple[Session, ...])
    assert_type(await um.end_session(principal, session_id), None)
    assert_type(await um.end_other_sessions(principal), int)
    assert_type(await um.purge_expired(), int)
    assert_type(await um.dispatch_events(), int)
    assert_type(await um.list_audit_events(actor=SYSTEM, event_type="login_failed"), AuditSlice)
    assert_type(await um.list_own_audit_events(principal, per_page=5), AuditSlice)
    assert_type(await um.purge_audit_events(datetime.now(UTC), actor=SYSTEM), int)
    assert_type(await um.begin_passkey_registration(principal, "pw"), PasskeyCeremony)
    ceremony = CeremonyId(session_id)
    assert_type(
        await um.finish_passkey_registration(principal, ceremony, {}, "Laptop"), PasskeyCredential
    )
    assert_type(await um.list_passkeys(principal), tuple[PasskeyCredential, ...])
    assert_type(await um.begin_passkey_login(), PasskeyCeremony)
    assert_type(await um.passkey_login(ceremony, {}, client="192.0.2.1"), TokenPair)
    assert_type(await um.start_totp(principal, current_password="pw"), TotpEnrolment)
    assert_type(await um.confirm_totp(principal, "123456"), tuple[str, ...])
    assert_type(await um.disable_totp(principal, current_password="pw", code="1"), None)
    assert_type(
        await um.regenerate_recovery_codes(principal, current_password="pw"), tuple[str, ...]
    )
    assert_type(await um.reset_mfa(user_id, actor=SYSTEM), None)
    assert_type(await um.verify_mfa("token", code="123456"), TokenPair)
    assert_type(await um.verify_email("token"), User)
    assert_type(await um.resend_verification("ann@example.org"), None)
    assert_type(await um.resend_verification(actor=principal), None)
    assert_type(await um.update_user(user_id, actor=SYSTEM, email_verified=True), User)

    async def on_login(delivery: Delivery[LoggedIn]) -> None:
        assert_type(delivery.event.session_id, SessionId)

    assert_type(um.subscribe(LoggedIn, on_login), Callable[[], None])
    um.subscribe(UserDeleted, on_login)  # type: ignore[arg-type]
    await um.register_user(42, "pw")  # type: ignore[arg-type]
    await um.get_user(user_id)  # type: ignore[call-arg]
    await um.update_user(user_id, actor=SYSTEM, nickname="A")  # type: ignore[call-arg]


def _typed_blocking_calls(um: BlockingUserManagement, user_id: UserId) -> None:
    """Never run: mypy reads it."""
    from typing import assert_type  # noqa: PLC0415 - only mypy needs it

    assert_type(um.register_user("ann@example.org", "correct horse battery"), User)
    assert_type(
        um.authenticate("ann@example.org", "pw", device_token=None), TokenPair | MfaChallenge
    )
    assert_type(um.list_users(actor=SYSTEM), UserPage)
    assert_type(um.update_user(user_id, actor=SYSTEM, is_active=False), User)
    assert_type(um.delete_user(user_id, actor=SYSTEM), None)
    assert_type(um.purge_expired(), int)
    assert_type(um.reset_mfa(user_id, actor=SYSTEM), None)
    assert_type(um.check_health(), bool)
    assert_type(um.check_readiness(), Readiness)
    assert_type(um.dispatch_events(), int)
    assert_type(um.list_audit_events(actor=SYSTEM), AuditSlice)
    assert_type(um.list_sessions(user_id, actor=SYSTEM), tuple[Session, ...])
    assert_type(um.begin_passkey_login(), PasskeyCeremony)
    assert_type(um.verify_email("token"), User)
    assert_type(um.resend_verification("ann@example.org"), None)

    def on_any(delivery: Delivery[Event]) -> None:
        assert_type(delivery.id, int)

    assert_type(um.subscribe(Event, on_any), Callable[[], None])
    um.register_user(42, "pw")  # type: ignore[arg-type]
    um.list_users(SYSTEM)  # type: ignore[call-arg]


def _use_case_methods() -> dict[str, UseCaseMethod[..., object]]:
    return {
        name: value
        for name, value in vars(UserManagement).items()
        if isinstance(value, UseCaseMethod)
    }


def test_every_use_case_method_runs_the_use_case_it_is_typed_by() -> None:
    """Each derived method finds, under its name, a use case of the class that types it."""
    um = UserManagement.in_memory()
    methods = _use_case_methods()
    assert methods
    for name, method in methods.items():
        assert isinstance(getattr(um.use_cases, name), method.kind), name
        # The method runs that very use case (wrapped to record a refusal: see methods.py).
        assert getattr(um, name).__wrapped__ is getattr(um.use_cases, name)


@pytest.mark.parametrize("name", sorted(_use_case_methods()))
def test_a_derived_method_shows_the_use_cases_parameters(name: str) -> None:
    """help() and editors see the use case's own parameters and documentation."""
    um = UserManagement.in_memory()
    method = _use_case_methods()[name]
    expected = inspect.signature(method.kind.__call__)
    shown = inspect.signature(getattr(um, name))
    assert list(shown.parameters.values()) == list(expected.parameters.values())[1:]
    assert (inspect.getdoc(method.kind.__call__) or "?") in (method.__doc__ or "")


def test_the_blocking_facade_has_every_awaitable_method() -> None:
    """No method of the async facade is missing from the blocking one."""
    awaitable = {
        name
        for name, value in vars(UserManagement).items()
        if isinstance(value, UseCaseMethod)
        or (inspect.iscoroutinefunction(value) and not name.startswith("_"))
    }
    assert awaitable - {"open", "close"} <= set(vars(BlockingUserManagement))


@pytest.mark.anyio
async def test_a_use_case_method_is_called_on_the_class_like_a_function(
    um: UserManagement,
) -> None:
    """``UserManagement.register_user(service, ...)`` works as with a plain method."""
    user = await UserManagement.register_user(um, "ann@example.org", "correct horse battery")

    assert UserManagement.register_user.__name__ == "register_user"
    assert UserManagement.list_users.kind.__name__ == "ListUsers"
    assert await um.get_user(user.id, actor=SYSTEM) == user
