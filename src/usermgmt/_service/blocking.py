"""The blocking facade: every method of ``UserManagement``, run on the service's loop thread.

Derived, not restated: :func:`blocking` turns any awaitable method into a
synchronous one with the same parameters, so each line below names a method
and nothing else.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Concatenate, ParamSpec, TypeVar

import anyio.from_thread
import anyio.to_thread
import attrs

from usermgmt._service.facade import UserManagement
from usermgmt.domain.events import Delivery, Event

P = ParamSpec("P")
T = TypeVar("T")
E = TypeVar("E", bound=Event)


def blocking(
    method: Callable[Concatenate[UserManagement, P], Awaitable[T]],
) -> Callable[Concatenate[BlockingUserManagement, P], T]:
    """Turn an async method of ``UserManagement`` into a sync one of ``BlockingUserManagement``.

    The call runs on the portal's event-loop thread, where the service lives;
    what it raises reaches the caller unchanged.
    """

    def call(self: BlockingUserManagement, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self.portal.call(functools.partial(method, self.service, *args, **kwargs))

    call.__name__ = call.__qualname__ = method.__name__
    call.__doc__ = method.__doc__
    return call


@attrs.frozen
class BlockingUserManagement:
    """The same service for synchronous code: each call runs on the service's loop thread."""

    service: UserManagement
    portal: anyio.from_thread.BlockingPortal

    migrate = blocking(UserManagement.migrate)
    migration_status = blocking(UserManagement.migration_status)
    check_health = blocking(UserManagement.check_health)
    check_readiness = blocking(UserManagement.check_readiness)
    pending_mail = blocking(UserManagement.pending_mail)
    purge_expired = blocking(UserManagement.purge_expired)
    request_password_reset = blocking(UserManagement.request_password_reset)
    reset_password = blocking(UserManagement.reset_password)
    verify_email = blocking(UserManagement.verify_email)
    resend_verification = blocking(UserManagement.resend_verification)
    register_user = blocking(UserManagement.register_user)
    authenticate = blocking(UserManagement.authenticate)
    refresh = blocking(UserManagement.refresh)
    validate_access_token = blocking(UserManagement.validate_access_token)
    logout = blocking(UserManagement.logout)
    get_user = blocking(UserManagement.get_user)
    find_user = blocking(UserManagement.find_user)
    list_users = blocking(UserManagement.list_users)
    list_users_after = blocking(UserManagement.list_users_after)
    update_user = blocking(UserManagement.update_user)
    change_password = blocking(UserManagement.change_password)
    delete_user = blocking(UserManagement.delete_user)
    restore_user = blocking(UserManagement.restore_user)
    revoke_sessions = blocking(UserManagement.revoke_sessions)
    list_own_sessions = blocking(UserManagement.list_own_sessions)
    list_sessions = blocking(UserManagement.list_sessions)
    end_session = blocking(UserManagement.end_session)
    end_other_sessions = blocking(UserManagement.end_other_sessions)
    dispatch_events = blocking(UserManagement.dispatch_events)
    list_audit_events = blocking(UserManagement.list_audit_events)
    list_own_audit_events = blocking(UserManagement.list_own_audit_events)
    purge_audit_events = blocking(UserManagement.purge_audit_events)
    begin_passkey_registration = blocking(UserManagement.begin_passkey_registration)
    finish_passkey_registration = blocking(UserManagement.finish_passkey_registration)
    list_passkeys = blocking(UserManagement.list_passkeys)
    remove_passkey = blocking(UserManagement.remove_passkey)
    begin_passkey_login = blocking(UserManagement.begin_passkey_login)
    passkey_login = blocking(UserManagement.passkey_login)
    start_totp = blocking(UserManagement.start_totp)
    confirm_totp = blocking(UserManagement.confirm_totp)
    disable_totp = blocking(UserManagement.disable_totp)
    regenerate_recovery_codes = blocking(UserManagement.regenerate_recovery_codes)
    reset_mfa = blocking(UserManagement.reset_mfa)
    verify_mfa = blocking(UserManagement.verify_mfa)

    def subscribe(
        self, kind: type[E], handler: Callable[[Delivery[E]], object]
    ) -> Callable[[], None]:
        """Call *handler* with every event that is a *kind*, in a worker thread.

        The synchronous form of :meth:`UserManagement.subscribe`: *handler* is
        a plain function, run off the service's loop thread so that it may
        block. Returns a function that ends the subscription.
        """

        async def in_thread(delivery: Delivery[E]) -> None:
            await anyio.to_thread.run_sync(handler, delivery)

        return self.service.subscribe(kind, in_thread)

    @contextmanager
    def dispatching(self) -> Iterator[None]:
        """Deliver events on the service's loop thread for the length of the ``with`` block."""
        with self.portal.wrap_async_context_manager(self.service.dispatching()):
            yield

    def jwks(self) -> dict[str, list[dict[str, str]]] | None:
        """Return the public keys that verify access tokens (see :meth:`UserManagement.jwks`)."""
        return self.service.jwks()
