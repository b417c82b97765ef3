"""The audit log's rules: which rows an event makes, what they keep, and the signed cursors."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.contracts import NOW
from tests.outbox_contract import sample_events
from usermgmt.domain.audit import (
    AuditOutcome,
    AuditPosition,
    audit_entries,
    decode_audit_cursor,
    encode_audit_cursor,
    type_name,
)
from usermgmt.domain.errors import InvalidCursorError
from usermgmt.domain.events import EVENT_TYPES, MailRequested, TokenRefreshed
from usermgmt.domain.mail import MailKind
from usermgmt.domain.rules.listing import ListPosition, encode_cursor

KEY = b"k" * 32
NOW_ID = uuid.UUID("44444444-4444-4444-8444-444444444444")


def test_every_event_type_but_a_refresh_makes_a_row() -> None:
    """A refresh is routine; everything else an event records is an audited action."""
    made = {type(e) for e in sample_events() if audit_entries(e)}
    assert made == set(EVENT_TYPES.values()) - {TokenRefreshed}


def test_type_names_are_snake_case_and_stable() -> None:
    """Operators filter by these names: they are part of the log's contract."""
    assert {type_name(kind) for kind in EVENT_TYPES.values()} >= {
        "user_registered",
        "login_succeeded",
        "login_failed",
        "refresh_token_reused",
        "logged_out",
        "sessions_revoked",
        "password_changed",
        "user_deleted",
        "user_restored",
        "access_denied",
        "audit_purged",
        "mail_queued",
    }


def test_a_queued_mail_keeps_its_kind_and_recipient_never_its_text() -> None:
    """The text of a verification mail holds a one-time link: the log must not."""
    mail = MailRequested(
        at=NOW,
        kind=MailKind.RESET_PASSWORD,
        to_address="ann@example.org",
        subject="Reset your password",
        text="Open http://127.0.0.1:8000/reset-password#token=s3cr3t-t0ken\n",
        html="<a href='#token=s3cr3t-t0ken'>reset</a>",
    )

    (entry,) = audit_entries(mail)

    assert entry.details == {"kind": "reset-password", "to_address": "ann@example.org"}
    assert "s3cr3t" not in json.dumps(entry.details)


def test_failures_and_refusals_have_their_outcomes() -> None:
    """What failed for what was presented, and what was refused for who asked, say so."""
    outcomes = {e.type: e.outcome for ev in sample_events() for e in audit_entries(ev)}
    assert outcomes["login_failed"] is AuditOutcome.FAILURE
    assert outcomes["refresh_token_reused"] is AuditOutcome.FAILURE
    assert outcomes["access_denied"] is AuditOutcome.DENIED
    assert outcomes["login_succeeded"] is AuditOutcome.SUCCESS


@given(
    seconds=st.integers(min_value=-(10**9), max_value=10**10),
    row_id=st.integers(min_value=1, max_value=2**63 - 1),
)
def test_a_cursor_reads_back_its_position(seconds: int, row_id: int) -> None:
    """Any position the log can hold survives the round trip."""
    position = AuditPosition(at=NOW + timedelta(microseconds=seconds), id=row_id)
    assert decode_audit_cursor(encode_audit_cursor(position, KEY), KEY) == position


def test_an_altered_forged_or_foreign_cursor_is_refused() -> None:
    """Only a cursor this key signed for the audit walk is taken; a users' cursor is not."""
    cursor = encode_audit_cursor(AuditPosition(at=NOW, id=7), KEY)
    altered = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
    users_cursor = encode_cursor(ListPosition(created_at=NOW, user_id=NOW_ID), KEY)
    for bad in (altered, cursor + "A", "a1" + "A" * 43, users_cursor, "", "a1"):
        with pytest.raises(InvalidCursorError):
            decode_audit_cursor(bad, KEY)
    with pytest.raises(InvalidCursorError):
        decode_audit_cursor(cursor, b"another key" * 3)
