"""Listing users: numbered pages, and a keyset walk by signed cursor (admins only)."""

from __future__ import annotations

import attrs

from usermgmt.domain.model import Actor, User, UserPage, UserSlice
from usermgmt.domain.rules.access import require_admin
from usermgmt.domain.rules.listing import (
    CURSOR_SECRET,
    ListPosition,
    check_page,
    check_per_page,
    decode_cursor,
    encode_cursor,
)
from usermgmt.ports import ServiceSecrets, UnitOfWork


@attrs.frozen(kw_only=True)
class ListUsers:
    """List users oldest first, one numbered page at a time (admins only)."""

    _uow: UnitOfWork

    async def __call__(
        self, *, actor: Actor, page: int = 1, per_page: int = 20, include_deleted: bool = False
    ) -> UserPage:
        """Return page *page* (from 1) with the total.

        Raises:
            PermissionDeniedError: *actor* is not privileged.
            InvalidPageError: *page* or *per_page* out of range.
        """
        require_admin(actor, "list users")
        check_per_page(per_page)
        check_page(page)
        offset = (page - 1) * per_page
        async with self._uow.standalone() as repos:
            total = await repos.users.count(include_deleted=include_deleted)
            items: tuple[User, ...] = ()
            if offset >= total:
                pass  # past the end there is nothing to fetch
            elif offset <= total // 2:
                items = tuple(
                    await repos.users.page(
                        offset=offset, limit=per_page, include_deleted=include_deleted
                    )
                )
            else:  # nearer the end: skip from the newest side, which is fewer rows to pass
                from_end = total - offset - per_page
                found = await repos.users.page(
                    offset=max(from_end, 0),
                    limit=per_page + min(from_end, 0),
                    include_deleted=include_deleted,
                    newest_first=True,
                )
                items = tuple(reversed(found))
        return UserPage(items=items, page=page, per_page=per_page, total=total)


@attrs.frozen(kw_only=True)
class ListUsersAfter:
    """List users oldest first, after an opaque, signed cursor (admins only)."""

    _uow: UnitOfWork
    _secrets: ServiceSecrets

    async def __call__(
        self,
        *,
        actor: Actor,
        cursor: str | None = None,
        per_page: int = 20,
        include_deleted: bool = False,
    ) -> UserSlice:
        """Return the users after *cursor* (``None`` or ``""`` for the first page).

        Keyset pagination: as fast at any depth, and a walk sees each user once
        even while users are added or deleted.

        Raises:
            PermissionDeniedError: *actor* is not privileged.
            InvalidPageError: *per_page* out of range.
            InvalidCursorError: *cursor* is not one this service handed out, or was altered.
        """
        require_admin(actor, "list users")
        check_per_page(per_page)
        key = await self._secrets.secret(CURSOR_SECRET)
        position = decode_cursor(cursor, key) if cursor else None
        async with self._uow.standalone() as repos:
            found = await repos.users.after(
                position, limit=per_page + 1, include_deleted=include_deleted
            )
        items = tuple(found[:per_page])
        next_cursor = None
        if len(found) > per_page:
            last = items[-1]
            position = ListPosition(created_at=last.created_at, user_id=last.id)
            next_cursor = encode_cursor(position, key)
        return UserSlice(items=items, next_cursor=next_cursor)
