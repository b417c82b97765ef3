"""Use cases of the audit log: read it (admins, or one's own rows), purge it, record a refusal.

Rows are written with the events of the other use cases (see
:mod:`usermgmt.domain.audit`); these read them in keyset pages, newest first,
under signed cursors like the users' listing.
"""

from __future__ import annotations

from datetime import UTC, datetime

import attrs

from usermgmt.domain.audit import (
    AuditEntry,
    AuditFilter,
    AuditPosition,
    AuditSlice,
    decode_audit_cursor,
    encode_audit_cursor,
)
from usermgmt.domain.context import current_request
from usermgmt.domain.errors import PermissionDeniedError
from usermgmt.domain.events import NO_CONTEXT, AccessDenied, AuditPurged
from usermgmt.domain.model import Actor, Principal, UserId
from usermgmt.domain.rules.access import require_admin
from usermgmt.domain.rules.listing import CURSOR_SECRET, check_per_page
from usermgmt.ports import Clock, ServiceSecrets, UnitOfWork
from usermgmt.usecases._steps import actor_id


def _utc(moment: datetime | None) -> datetime | None:
    """Read a time without an offset as UTC, the log's time zone."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@attrs.frozen(kw_only=True)
class _Pages:
    """One keyset walk of the log: the shared half of both listings."""

    uow: UnitOfWork
    secrets: ServiceSecrets

    async def slice(self, matching: AuditFilter, cursor: str | None, per_page: int) -> AuditSlice:
        check_per_page(per_page)
        key = await self.secrets.secret(CURSOR_SECRET)
        after = decode_audit_cursor(cursor, key) if cursor else None
        async with self.uow.standalone() as repos:
            found = await repos.audit.page(matching, after, limit=per_page + 1)
        items = tuple(found[:per_page])
        next_cursor = None
        if len(found) > per_page:
            last = items[-1]
            position = AuditPosition(at=last.at, id=last.id or 0)
            next_cursor = encode_audit_cursor(position, key)
        return AuditSlice(items=items, next_cursor=next_cursor)


@attrs.frozen(kw_only=True)
class ListAuditEvents:
    """Read the audit log newest first, filtered, one keyset page at a time (admins only)."""

    _uow: UnitOfWork
    _secrets: ServiceSecrets

    async def __call__(
        self,
        *,
        actor: Actor,
        user_id: UserId | None = None,
        event_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        cursor: str | None = None,
        per_page: int = 20,
    ) -> AuditSlice:
        """Return the rows after *cursor* (``None`` or ``""``: the newest) that match.

        *user_id* is the account acted on, *event_type* a row type
        (``login_failed``); *since* is inclusive and *until* exclusive (a
        time without an offset is UTC).

        Raises:
            PermissionDeniedError: *actor* is not privileged.
            InvalidPageError: *per_page* out of range.
            InvalidCursorError: *cursor* is not one this service handed out, or was altered.
        """
        require_admin(actor, "read the audit log")
        matching = AuditFilter(
            user_id=user_id, type=event_type or None, since=_utc(since), until=_utc(until)
        )
        return await _Pages(uow=self._uow, secrets=self._secrets).slice(matching, cursor, per_page)


@attrs.frozen(kw_only=True)
class ListOwnAuditEvents:
    """Read the caller's own security events, newest first, one keyset page at a time."""

    _uow: UnitOfWork
    _secrets: ServiceSecrets

    async def __call__(
        self, principal: Principal, *, cursor: str | None = None, per_page: int = 20
    ) -> AuditSlice:
        """Return the rows about *principal*'s account after *cursor*.

        What concerns someone else is left out: on a row another user (an
        admin) caused, their id, address and user agent are blank.

        Raises:
            InvalidPageError: *per_page* out of range.
            InvalidCursorError: *cursor* is not one this service handed out, or was altered.
        """
        me = principal.user.id
        found = await _Pages(uow=self._uow, secrets=self._secrets).slice(
            AuditFilter(user_id=me), cursor, per_page
        )
        return attrs.evolve(found, items=tuple(_own_view(entry, me) for entry in found.items))


def _own_view(entry: AuditEntry, me: UserId) -> AuditEntry:
    if entry.actor_id is None or entry.actor_id == me:
        return entry
    return attrs.evolve(entry, actor_id=None, context=NO_CONTEXT)


@attrs.frozen(kw_only=True)
class PurgeAuditEvents:
    """Delete the audit rows older than a time: the log's only delete, itself recorded."""

    _uow: UnitOfWork
    _clock: Clock

    async def __call__(self, before: datetime, *, actor: Actor) -> int:
        """Delete the rows from before *before* (a time without an offset is UTC); return how many.

        The purge writes its own ``audit_purged`` row, in the same transaction.

        Raises:
            PermissionDeniedError: *actor* is not privileged.
        """
        require_admin(actor, "purge the audit log")
        return await purge_audit(
            self._uow, _utc(before) or before, now=self._clock.now(), actor=actor
        )


async def purge_audit(
    uow: UnitOfWork, before: datetime, *, now: datetime, actor: Actor | None, quiet: bool = False
) -> int:
    """Delete audit rows from before *before* and record the purge, in one transaction.

    With *quiet*, a purge that deleted nothing records nothing (the daily
    retention run).
    """
    async with uow() as tx:
        count = await tx.audit.purge(before)
        if count or not quiet:
            await tx.outbox.add(
                AuditPurged(
                    at=now,
                    context=current_request(),
                    actor_id=actor_id(actor),
                    before=before,
                    count=count,
                )
            )
    return count


@attrs.frozen(kw_only=True)
class RecordRefusal:
    """Record that an action was refused for who asked (a 403), on its own."""

    _uow: UnitOfWork
    _clock: Clock

    async def __call__(
        self, refusal: PermissionDeniedError, *, actor: Actor | None, user_id: UserId | None
    ) -> None:
        """Write the ``access_denied`` row of *refusal*; *user_id* is the account it named."""
        denied = AccessDenied(
            at=self._clock.now(),
            context=current_request(),
            actor_id=actor_id(actor),
            action=refusal.action,
            user_id=user_id,
        )
        async with self._uow.standalone() as repos:
            await repos.outbox.add(denied)
