"""Who may do what: the checks every use case makes before it touches storage."""

from __future__ import annotations

from usermgmt.domain.errors import LastAdminError, PermissionDeniedError
from usermgmt.domain.model import SYSTEM, Actor, Principal, User, UserId


def is_privileged(actor: Actor) -> bool:
    """Whether *actor* has administrative rights (an admin, or the operator)."""
    return actor is SYSTEM or (isinstance(actor, Principal) and actor.user.is_admin)


def is_self(actor: Actor, user_id: UserId) -> bool:
    """Whether *actor* is the user *user_id* acting on their own account."""
    return isinstance(actor, Principal) and actor.user.id == user_id


def require_admin(actor: Actor, action: str) -> None:
    """Refuse *action* unless *actor* is privileged.

    Raises:
        PermissionDeniedError: *actor* is a plain user.
    """
    if not is_privileged(actor):
        raise PermissionDeniedError(action)


def require_self_or_admin(actor: Actor, user_id: UserId, action: str) -> None:
    """Refuse *action* on *user_id* unless it is the actor's own account or the actor is privileged.

    Checked before any lookup, so a plain user cannot probe which ids exist.

    Raises:
        PermissionDeniedError: a plain user named somebody else.
    """
    if not (is_self(actor, user_id) or is_privileged(actor)):
        raise PermissionDeniedError(action)


def require_an_admin_left(before: User, after: User, active_admins: int) -> None:
    """Refuse turning *before* into *after* if that leaves no active admin.

    *active_admins* is how many active admins there are now, counted in the
    same transaction with their rows locked, so that two changes cannot both
    remove "the other" last admin.

    Raises:
        LastAdminError: *before* is the only active admin and *after* is not one.
    """
    if before.is_active_admin and not after.is_active_admin and active_admins <= 1:
        raise LastAdminError
