"""Mail messages and mailboxes: nothing a user typed can add a header or a recipient."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.mail_contract import message
from usermgmt import ValidationError
from usermgmt.domain.mail import Mailbox
from usermgmt.domain.model import Email

_BREAKS = ["\r", "\n", "\r\n", "\x00", "\x1b", "\u2028", "\u2029", "\x85"]


@pytest.mark.parametrize("brk", _BREAKS)
def test_a_line_break_in_a_recipients_name_is_refused(brk: str) -> None:
    """A name cannot end the To header and start a Bcc one."""
    with pytest.raises(ValidationError) as caught:
        Mailbox("ann@example.org", f"Ann{brk}Bcc: all@example.org")

    assert caught.value.field == "name"


@pytest.mark.parametrize("brk", _BREAKS)
def test_a_line_break_in_an_address_is_refused(brk: str) -> None:
    """An address cannot carry a second header either."""
    with pytest.raises(ValidationError) as caught:
        Mailbox(f"ann@example.org{brk}Bcc: all@example.org")

    assert caught.value.field == "address"


@pytest.mark.parametrize("brk", _BREAKS)
def test_a_line_break_in_the_subject_is_refused(brk: str) -> None:
    """The subject is one line."""
    with pytest.raises(ValidationError) as caught:
        message(subject=f"Hello{brk}Bcc: all@example.org")

    assert caught.value.field == "subject"


@pytest.mark.parametrize("brk", _BREAKS)
def test_a_line_break_in_an_extra_header_is_refused(brk: str) -> None:
    """Extra headers are single lines too."""
    with pytest.raises(ValidationError) as caught:
        message(headers=(("X-Note", f"a{brk}Bcc: all@example.org"),))

    assert caught.value.field == "headers"


@pytest.mark.parametrize("name", ["Bcc", "to", "FROM", "Content-Type", "Message-ID", "Subject"])
def test_a_header_the_mailer_writes_cannot_be_set_or_repeated(name: str) -> None:
    """A message cannot add a recipient, forge its sender or restructure its body."""
    with pytest.raises(ValidationError, match="written by the mailer"):
        message(headers=((name, "x"),))


@pytest.mark.parametrize("name", ["", "X Note", "X:Note", "Zoë"])
def test_a_header_name_must_be_printable_ascii_without_a_colon(name: str) -> None:
    """Only a valid field name may be a header's name."""
    with pytest.raises(ValidationError, match="not a header name"):
        message(headers=((name, "x"),))


@pytest.mark.parametrize("bad", ["", "a b", "a@b", "<x>", "x\n", "-leading"])
def test_a_message_id_is_letters_digits_dots_dashes_and_underscores(bad: str) -> None:
    """The left part of the Message-ID cannot smuggle anything into the header."""
    with pytest.raises(ValidationError) as caught:
        message(message_id=bad)

    assert caught.value.field == "message_id"


def test_an_empty_or_overlong_subject_is_refused() -> None:
    """A subject is a short line of text."""
    with pytest.raises(ValidationError, match="empty"):
        message(subject="  ")
    with pytest.raises(ValidationError, match="at most 200"):
        message(subject="x" * 201)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("usermgmt <no-reply@localhost>", Mailbox("no-reply@localhost", "usermgmt")),
        ("no-reply@example.org", Mailbox("no-reply@example.org")),
        ('"Support, Example" <help@example.org>', Mailbox("help@example.org", "Support, Example")),
        ("Zoë <zoe@example.org>", Mailbox("zoe@example.org", "Zoë")),
    ],
)
def test_a_sender_is_read_as_one_mailbox(raw: str, expected: Mailbox) -> None:
    """USERMGMT_MAIL_FROM is ``Name <address>`` or a bare address."""
    assert Mailbox.parse(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "nobody", "a@example.org, b@example.org", "x <>", "x <a@b>\nBcc: c@d", "@example.org"],
)
def test_anything_but_one_mailbox_is_refused_as_a_sender(raw: str) -> None:
    """Two addresses, none, or a line break are not a sender."""
    with pytest.raises(ValidationError):
        Mailbox.parse(raw)


def test_a_users_mailbox_is_their_address_and_name() -> None:
    """A user's validated address and display name make their mailbox."""
    assert Mailbox.of(Email.parse("Ann@Example.org"), "Ann") == Mailbox("ann@example.org", "Ann")


@given(name=st.text(max_size=40), subject=st.text(min_size=1, max_size=40))
def test_no_accepted_message_has_a_line_break_in_a_header(name: str, subject: str) -> None:
    """Whatever a user types, a message that is built has single-line headers."""
    try:
        built = message(to=Mailbox("ann@example.org", name), subject=subject)
    except ValidationError:
        return

    for text in (built.to.name, built.subject):
        assert not any(c in text for c in "\r\n\x85\u2028\u2029")
