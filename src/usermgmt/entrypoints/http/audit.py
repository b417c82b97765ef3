"""``/api/audit``: the audit log, newest first, for admins.

The caller's own rows are at ``/api/auth/events`` (in ``auth.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import Parameter

from usermgmt import Principal, UserId, UserManagement
from usermgmt.domain.rules.listing import MAX_PER_PAGE
from usermgmt.entrypoints.http.responses import errors
from usermgmt.entrypoints.http.schemas import AuditSliceResponse
from usermgmt.entrypoints.http.security import PRINCIPAL, SECURED

PerPage = Annotated[int, Parameter(ge=1, le=MAX_PER_PAGE, description="Rows per page.")]
Cursor = Annotated[
    str | None,
    Parameter(
        max_length=256,
        description="Empty or absent for the newest rows, then the `next_cursor` of the "
        "previous page.",
    ),
]
CURSOR_422 = (
    "A bad query parameter: `per_page` out of range, or a cursor this service did not hand out."
)


class AuditController(Controller):
    """The append-only log of who did what to which account (admins only)."""

    path = "/api/audit"
    tags = ["audit"]  # noqa: RUF012 - Litestar reads class attributes
    dependencies = {"principal": PRINCIPAL}  # noqa: RUF012

    @get(
        "/",
        operation_id="listAuditEvents",
        summary="Read the audit log",
        security=SECURED,
        responses=errors(
            401,
            403,
            422,
            503,
            s403="Only admins read the audit log.",
            s422="A bad query parameter: a malformed `user_id` or time, `per_page` out of "
            "range, or a cursor this service did not hand out.",
        ),
    )
    async def list_audit_events(
        self,
        principal: NamedDependency[Principal],
        service: NamedDependency[UserManagement],
        user_id: Annotated[
            UUID | None, Parameter(description="Only rows about this account.")
        ] = None,
        type: Annotated[  # noqa: A002 - the query parameter's name
            str | None,
            Parameter(max_length=64, description="Only rows of this type, e.g. `login_failed`."),
        ] = None,
        since: Annotated[
            datetime | None,
            Parameter(description="Only rows at or after this RFC 3339 time (UTC if no offset)."),
        ] = None,
        until: Annotated[
            datetime | None,
            Parameter(description="Only rows before this RFC 3339 time (UTC if no offset)."),
        ] = None,
        cursor: Cursor = None,
        per_page: PerPage = 20,
    ) -> AuditSliceResponse:
        """List audit rows newest first, in keyset pages that are as fast at any depth."""
        found = await service.list_audit_events(
            actor=principal,
            user_id=UserId(user_id) if user_id else None,
            event_type=type,
            since=since,
            until=until,
            cursor=cursor,
            per_page=per_page,
        )
        return AuditSliceResponse.from_domain(found)
