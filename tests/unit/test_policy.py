"""The rules: emails, names, the password policy, cursors."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.strategies import emails, passwords
from usermgmt import (
    Email,
    InvalidCursorError,
    InvalidEmailError,
    ValueTooLongError,
    WeakPasswordError,
)
from usermgmt.adapters.blocklist import common_passwords
from usermgmt.domain.model import UserId, clean_name
from usermgmt.domain.policy import (
    ListPosition,
    PasswordPolicy,
    decode_cursor,
    encode_cursor,
)

ANN = Email.parse("ann@example.org")
POLICY = PasswordPolicy(common=common_passwords(8))
NOW = datetime(2026, 5, 1, tzinfo=UTC)


# --- emails and names --------------------------------------------------------------------


@given(emails())
def test_emails_equal_ignoring_case(raw: str) -> None:
    """Two spellings of an address that differ only in case are the same Email."""
    assert Email.parse(raw) == Email.parse(raw.swapcase())


@given(emails())
def test_parsing_is_idempotent(raw: str) -> None:
    """The normalized form parses to itself."""
    once = Email.parse(raw)

    assert Email.parse(once.value) == once


@pytest.mark.parametrize(
    "raw", ["", "ann", "ann@", "@example.org", "ann@@example.org", "ann example@x.org"]
)
def test_malformed_emails_are_refused(raw: str) -> None:
    """Anything that is not an address is refused with a reason on the email field."""
    with pytest.raises(InvalidEmailError) as caught:
        Email.parse(raw)

    assert caught.value.field == "email"


def test_an_email_over_254_characters_is_refused() -> None:
    """The SPEC's length limit applies before any parsing."""
    with pytest.raises(ValueTooLongError):
        Email.parse("a" * 64 + "@" + "b" * 186 + ".org")  # 255 characters


def test_names_over_200_characters_are_refused() -> None:
    """Names are bounded at 200 characters."""
    assert clean_name("  " + "n" * 200 + " ") == "n" * 200
    with pytest.raises(ValueTooLongError):
        clean_name("n" * 201)


# --- passwords (NIST SP 800-63B) ---------------------------------------------------------


@given(passwords(min_size=8))
def test_long_random_passwords_are_accepted(password: str) -> None:
    """No composition rules: any long enough, uncommon password passes."""
    # Hypothesis also tries constants from local modules, this email too, refused on purpose.
    assume(unicodedata.normalize("NFKC", password).casefold() not in {ANN.value, "ann"})
    assert POLICY.accept(password, ANN) == unicodedata.normalize("NFKC", password)


def test_lowercase_only_passwords_are_accepted() -> None:
    """A passphrase of lowercase letters needs no digit or symbol."""
    assert POLICY.accept("sunlit orchard quietly", ANN) == "sunlit orchard quietly"


@pytest.mark.parametrize("length", [64, 128, 1024])
def test_long_passwords_are_accepted(length: int) -> None:
    """Passwords up to the bound of 1024 characters are allowed."""
    assert len(POLICY.accept("x7" * (length // 2), ANN)) == length


def test_passwords_over_the_bound_are_refused() -> None:
    """1025 characters is one too many: no hashing DoS."""
    with pytest.raises(WeakPasswordError, match="at most 1024"):
        POLICY.accept("x" * 1025, ANN)


def test_short_passwords_are_refused_with_the_reason() -> None:
    """Seven characters are too few by default, and the error says so."""
    with pytest.raises(WeakPasswordError, match="at least 8 characters"):
        POLICY.accept("q9#kLm2", ANN)


def test_the_minimum_length_is_configurable() -> None:
    """A deployment can ask for 15 characters (NIST's advice for password-only accounts)."""
    strict = PasswordPolicy(min_length=15)

    with pytest.raises(WeakPasswordError, match="at least 15"):
        strict.accept("fourteen chars", ANN)
    assert strict.accept("fifteen chars!!", ANN)


def test_length_counts_code_points_not_bytes() -> None:
    """Eight emoji are eight characters, though 32 bytes."""
    assert POLICY.accept("🐍🔑🌍🎲🚀🧩🪐🌵", ANN) == "🐍🔑🌍🎲🚀🧩🪐🌵"


@pytest.mark.parametrize("common", ["password", "PASSWORD1", "12345678", "iloveyou", "qwertyuiop"])
def test_common_passwords_are_refused(common: str) -> None:
    """Passwords from breach lists are refused, whatever their case, with the reason."""
    with pytest.raises(WeakPasswordError, match="too common"):
        POLICY.accept(common, ANN)


def test_the_bundled_list_is_large() -> None:
    """At least 3,000 entries satisfy the default length policy."""
    assert len(common_passwords(8)) >= 3000


@pytest.mark.parametrize("password", ["ann@example.org", "ANN@EXAMPLE.ORG", "ann", "usermgmt"])
def test_the_email_its_local_part_and_the_service_name_are_refused(password: str) -> None:
    """A password equal to the account's email or the service's name is refused."""
    policy = PasswordPolicy(min_length=3)

    with pytest.raises(WeakPasswordError, match="email address or the service name"):
        policy.accept(password, ANN)


def test_passwords_are_nfkc_normalized() -> None:
    """Compatibility forms (full-width letters) normalize to the same password."""
    assert POLICY.accept("ｃｏｒｒｅｃｔｈｏｒｓｅ", ANN) == "correcthorse"


# --- cursors ------------------------------------------------------------------------------


@given(
    st.datetimes(
        min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)
    ),
    st.uuids(),
)
def test_cursors_round_trip(created_at: datetime, user_id: uuid.UUID) -> None:
    """Decoding an encoded position gives the position back."""
    position = ListPosition(created_at=created_at, user_id=UserId(user_id))

    assert decode_cursor(encode_cursor(position)) == position


@given(st.text(max_size=60))
def test_anything_else_is_not_a_cursor(text: str) -> None:
    """Arbitrary text is refused with InvalidCursorError, never another exception."""
    try:
        position = decode_cursor(text)
    except InvalidCursorError:
        return
    assert encode_cursor(position) == text  # only a canonical cursor decodes


def test_a_tampered_cursor_is_refused() -> None:
    """Changing a character of a cursor's padding-free form is detected or decodes canonically."""
    cursor = encode_cursor(ListPosition(created_at=NOW, user_id=UserId(uuid.UUID(int=7))))

    with pytest.raises(InvalidCursorError):
        decode_cursor(cursor + "A")
    with pytest.raises(InvalidCursorError):
        decode_cursor("x" + cursor[1:])
