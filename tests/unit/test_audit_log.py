"""The audit log through the library, over memory: refusals, purges, retention, own events."""

from __future__ import annotations

from datetime import timedelta

import pytest

from usermgmt import (
    SYSTEM,
    AuditOutcome,
    EmailTakenError,
    ManualClock,
    PermissionDeniedError,
    Principal,
    Role,
    Settings,
    UserManagement,
    VerificationMode,
)
from usermgmt.domain.context import request_context
from usermgmt.events import RequestContext

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings without verification mail: these tests count what a change records."""
    return settings.evolve(email_verification=VerificationMode.OFF)


async def _principal(um: UserManagement, email: str, role: Role = Role.USER) -> Principal:
    await um.register_user(email, PASSWORD, role=role, actor=SYSTEM)
    tokens = await um.authenticate(email, PASSWORD)
    return await um.validate_access_token(tokens.access_token)


async def _types(um: UserManagement, **query: object) -> list[str]:
    found = await um.list_audit_events(actor=SYSTEM, per_page=100, **query)  # type: ignore[arg-type]
    return [e.type for e in found.items]


async def test_a_refusal_through_the_library_is_recorded_with_its_context(
    um: UserManagement,
) -> None:
    """A plain user asking for another user is refused, and the refusal is a denied row."""
    ann = await _principal(um, "ann@example.org")
    bob = await _principal(um, "bob@example.org")

    with (
        request_context(RequestContext(ip="198.51.100.7", request_id="r-9")),
        pytest.raises(PermissionDeniedError),
    ):
        await um.get_user(bob.user.id, actor=ann)

    (row,) = (await um.list_audit_events(actor=SYSTEM, event_type="access_denied")).items
    assert (row.actor_id, row.user_id, row.outcome) == (
        ann.user.id,
        bob.user.id,
        AuditOutcome.DENIED,
    )
    assert row.details == {"action": "read another user"}
    assert (row.context.ip, row.context.request_id) == ("198.51.100.7", "r-9")


async def test_reading_the_log_is_for_admins(um: UserManagement, clock: ManualClock) -> None:
    """A plain user cannot list the log or purge it; an admin can list it."""
    ann = await _principal(um, "ann@example.org")
    admin = await _principal(um, "admin@example.org", Role.ADMIN)

    with pytest.raises(PermissionDeniedError):
        await um.list_audit_events(actor=ann)
    with pytest.raises(PermissionDeniedError):
        await um.purge_audit_events(clock.now(), actor=ann)

    assert (await um.list_audit_events(actor=admin, per_page=1)).next_cursor is not None


def um_now(um: UserManagement) -> object:
    """The service clock's time."""
    return um.use_cases.purge_audit_events._clock.now()


async def test_a_purge_deletes_older_rows_and_records_itself(
    um: UserManagement, clock: ManualClock
) -> None:
    """Rows before the bound go; an audit_purged row, by the operator, says how many."""
    await um.register_user("ann@example.org", PASSWORD)
    clock.advance(timedelta(days=2))
    await um.register_user("bob@example.org", PASSWORD)

    purged = await um.purge_audit_events(clock.now() - timedelta(days=1), actor=SYSTEM)

    rows = (await um.list_audit_events(actor=SYSTEM)).items
    assert purged == 1
    assert [r.type for r in rows] == ["audit_purged", "user_registered"]
    assert rows[0].details["count"] == 1
    assert rows[0].actor_id is None


async def test_the_periodic_purge_applies_the_retention(
    settings: Settings, clock: ManualClock
) -> None:
    """Rows older than USERMGMT_AUDIT_RETENTION_DAYS go with the other expired state."""
    service = UserManagement.in_memory(
        settings.evolve(audit_retention_days=30),
        clock=clock,
    )
    async with service as um:
        await um.register_user("ann@example.org", PASSWORD)
        clock.advance(timedelta(days=20))
        await um.register_user("bob@example.org", PASSWORD)
        await um.purge_expired()
        assert await _types(um) == ["user_registered", "user_registered"]  # nothing to purge
        clock.advance(timedelta(days=15))

        await um.purge_expired()

        assert await _types(um) == ["audit_purged", "user_registered"]


async def test_own_events_hide_the_admin_who_acted(um: UserManagement) -> None:
    """Ann's view of an admin's change names no admin and no admin's address."""
    ann = await _principal(um, "ann@example.org")
    admin = await _principal(um, "admin@example.org", Role.ADMIN)
    with request_context(RequestContext(ip="192.0.2.50", user_agent="admin-console")):
        await um.update_user(ann.user.id, actor=admin, is_active=False)

    seen = (await um.list_own_audit_events(ann)).items
    as_admin = (await um.list_audit_events(actor=admin, user_id=ann.user.id)).items

    assert [e.type for e in seen] == ["user_deactivated", "login_succeeded", "user_registered"]
    assert (seen[0].actor_id, seen[0].context.ip) == (None, "")
    assert (as_admin[0].actor_id, as_admin[0].context.ip) == (admin.user.id, "192.0.2.50")


async def test_a_failed_change_writes_no_row(um: UserManagement) -> None:
    """A registration refused by the database (email taken) leaves only the first one's row."""
    await um.register_user("ann@example.org", PASSWORD)

    with pytest.raises(EmailTakenError):
        await um.register_user("ANN@example.org", PASSWORD)

    assert await _types(um) == ["user_registered"]
