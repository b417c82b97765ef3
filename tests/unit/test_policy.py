"""The rules: emails, names, the password policy, cursors."""

from __future__ import annotations

import base64
import unicodedata
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.strategies import (
    UNSAFE_IN_NAMES,
    email_variants,
    emails,
    names,
    passphrases,
    passwords,
)
from usermgmt import (
    Email,
    InvalidCursorError,
    InvalidEmailError,
    ValidationError,
    ValueTooLongError,
    WeakPasswordError,
)
from usermgmt.adapters.blocklist import common_passwords
from usermgmt.domain.model import UserId, clean_name
from usermgmt.domain.rules.listing import ListPosition, decode_cursor, encode_cursor
from usermgmt.domain.rules.passwords import PasswordPolicy

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


@given(email_variants())
def test_case_and_compatibility_variants_are_one_email(pair: tuple[str, str]) -> None:
    """Another letter case, full-width letters, ligatures, invisible characters: the same Email."""
    raw, variant = pair

    assert Email.parse(raw) == Email.parse(variant)
    assert Email.parse(raw).key == Email.parse(variant).key


@given(email_variants())
def test_the_key_of_a_parsed_email_is_stable(pair: tuple[str, str]) -> None:
    """Parsing the stored form again gives the same key: what is stored is looked up again."""
    email = Email.parse(pair[1])

    assert Email.parse(email.value).key == email.key
    assert Email(email.value) == email


@pytest.mark.parametrize(
    ("raw", "shown", "key"),
    [
        ("ΟΔΥΣΣΕΑΣ@example.gr", "οδυσσεας@example.gr", "οδυσσεασ@example.gr"),
        ("οδυσσεασ@example.gr", "οδυσσεασ@example.gr", "οδυσσεασ@example.gr"),
        ("ｃat@example.org", "ｃat@example.org", "cat@example.org"),
        ("ﬁle@example.org", "ﬁle@example.org", "file@example.org"),
        ("Straße@Example.DE", "straße@example.de", "strasse@example.de"),
        ("Ann@Example.ORG", "ann@example.org", "ann@example.org"),
    ],
)
def test_an_email_is_shown_lowercased_and_keyed_by_nfkc_casefold(
    raw: str, shown: str, key: str
) -> None:
    """What users see stays the lowercased address; the key folds it fully."""
    email = Email.parse(raw)

    assert (email.value, email.key, str(email)) == (shown, key, shown)


def test_different_addresses_stay_different() -> None:
    """Folding joins spellings of one address, not different addresses."""
    assert Email.parse("ann@example.org") != Email.parse("anne@example.org")
    assert Email.parse("ı@example.org") != Email.parse("i@example.org")


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


@pytest.mark.parametrize(
    "name",
    [
        "\x1b[31mred\x1b[0m",  # an ANSI colour escape
        "Ann \x1b]0;owned\x07",  # a terminal title escape
        "Ann\nINFO admin logged in",  # a forged log line
        "Ann\r\n",
        "\tAnn",  # leading and trailing controls are refused, not trimmed
        "a\x00b",
        "a\x7fb",  # DEL
        "a\x85b",  # NEXT LINE, a C1 control
        "a\x9b31mb",  # CONTROL SEQUENCE INTRODUCER, C1
        "Ann\u2028INFO forged",  # LINE SEPARATOR
        "Ann\u2029",  # PARAGRAPH SEPARATOR
    ],
)
def test_names_with_control_characters_or_line_breaks_are_refused(name: str) -> None:
    """C0, DEL, C1 and the Unicode line separators are refused, and the reason says so."""
    with pytest.raises(ValidationError) as caught:
        clean_name(name)

    assert (caught.value.field, caught.value.reason) == (
        "name",
        "must not contain control characters or line breaks",
    )


@pytest.mark.parametrize("char", [chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]])
def test_names_with_bidirectional_overrides_or_isolates_are_refused(char: str) -> None:
    """Every embedding, override and isolate is refused: ``admin\u202etxt.exe`` cannot pass."""
    with pytest.raises(ValidationError) as caught:
        clean_name(f"admin{char}txt.exe")

    assert caught.value.field == "name"
    assert caught.value.reason.startswith("must not contain bidirectional override or isolate")


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("  Zoë  ", "Zoë"),
        ("Zoe\u0308", "Zoë"),  # NFC: the same name typed decomposed
        ("محمد بن موسى", "محمد بن موسى"),  # right-to-left text needs no override
        ("a\u200fb", "a\u200fb"),  # RIGHT-TO-LEFT MARK is a mark, not an override
        ("李小龍", "李小龍"),
        ("👩\u200d💻 Ada", "👩\u200d💻 Ada"),  # an emoji joined by ZERO WIDTH JOINER
        ("", ""),
    ],
)
def test_names_in_any_script_are_kept_nfc_normalized(raw: str, name: str) -> None:
    """Scripts, marks, emoji sequences: accepted, NFC-normalized and trimmed."""
    assert clean_name(raw) == name


@given(names())
def test_any_safe_name_is_accepted_in_nfc(name: str) -> None:
    """Whatever the script, a name without unsafe characters is accepted in its NFC form."""
    assert clean_name(name) == unicodedata.normalize("NFC", name).strip()


@given(
    names(),
    st.sampled_from(
        [chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]] + list(UNSAFE_IN_NAMES)
    ),
    names(),
)
def test_an_unsafe_character_anywhere_in_a_name_is_refused(
    before: str, unsafe: str, after: str
) -> None:
    """One control, line-breaking or bidi override character anywhere is enough to refuse."""
    with pytest.raises(ValidationError):
        clean_name(before + unsafe + after)


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
    password = " ".join(str(n) for n in range(400))[:length]

    assert len(POLICY.accept(password, ANN)) == length


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


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        (" " * 12, "must not be only white space or invisible characters"),
        ("\u3000" * 12, "must not be only white space or invisible characters"),  # ideographic
        ("\u00a0 \u2003" * 4, "must not be only white space or invisible characters"),
        ("\u200b" * 12, "must not be only white space or invisible characters"),  # zero-width
        ("\u2060\ufeff\u200d" * 4, "must not be only white space or invisible characters"),
        ("\u3164" * 12, "must not be only white space or invisible characters"),  # Hangul filler
        ("\u2800" * 12, "must not be only white space or invisible characters"),  # Braille blank
        ("\x00" * 12, "must not contain control characters"),
        ("correct horse\tbattery", "must not contain control characters"),
        ("correct horse battery\n", "must not contain control characters"),
        ("\x1b[31mcorrect horse", "must not contain control characters"),
        ("correct\x7fhorse battery", "must not contain control characters"),  # DEL
        ("correct\x85horse battery", "must not contain control characters"),  # C1
        ("a" * 12, "must not be one character repeated"),
        ("AaAaAaAaAaAa", "must not be one character repeated"),  # case does not count
        ("z\u200bz\u200bz\u200bz\u200bz\u200b", "must not be one character repeated"),
        ("ﾟﾟﾟﾟﾟﾟﾟﾟﾟ", "must not be one character repeated"),  # after NFKC
        ("abcabcabcabc", "must not be a group of fewer than 8 characters repeated"),
        ("passpass", "must not be a group of fewer than 8 characters repeated"),
        ("qwe!qwe!qwe!", "must not be a group of fewer than 8 characters repeated"),
        ("x7x7x7x7x7x7x7", "must not be a group of fewer than 8 characters repeated"),
        ("1212121", "must be at least 8 characters"),  # length is checked first
        ("23456789", "must not be a run of consecutive characters"),  # 12345678 is on the list
        ("abcdefgh", "must not be a run of consecutive characters"),
        ("ABCDEFGHIJ", "must not be a run of consecutive characters"),
        ("87654321", "must not be a run of consecutive characters"),  # descending
        ("12345678901", "must not be a run of consecutive characters"),  # 9 wraps to 0
        ("78901234567", "must not be a run of consecutive characters"),
        ("3210987654", "must not be a run of consecutive characters"),  # and back
        ("wxyzabcd", "must not be a run of consecutive characters"),  # z wraps to a
        ("αβγδεζηθ", "must not be a run of consecutive characters"),
        ("２３４５６７８９", "must not be a run of consecutive characters"),  # full-width
        ("2345\u200b6789", "must not be a run of consecutive characters"),  # invisible
    ],
)
def test_blank_control_repetitive_and_sequential_passwords_are_refused(
    password: str, reason: str
) -> None:
    """NIST SP 800-63B's examples and their disguises, each with the rule that refused it."""
    with pytest.raises(WeakPasswordError) as caught:
        POLICY.accept(password, ANN)

    assert caught.value.field == "password"
    assert caught.value.reason.startswith(reason)


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "Tr0ub4dor&3Tr0ub4dor&3",  # a repeated group long enough on its own
        "1 2 3 4 5 6 7 8",  # not a run once the spaces count
        "123456789 and then some",  # a run and then something else
        "abcdefgh1",
        "aaaaaaab",
        "   spaced   ",
        "a\u200bpassphrase",  # an invisible character among visible ones
        "🐍🔑🌍🎲🚀🧩🪐🌵",
    ],
)
def test_passwords_near_the_patterns_are_accepted(password: str) -> None:
    """Only the whole password is judged: a run or a repeat inside it is no reason to refuse."""
    assert POLICY.accept(password, ANN) == unicodedata.normalize("NFKC", password)


@given(passphrases())
def test_realistic_passphrases_are_accepted(passphrase: str) -> None:
    """Words strung together, in any case and with any separator, pass every rule."""
    assert POLICY.accept(passphrase, ANN) == unicodedata.normalize("NFKC", passphrase)


def test_a_repeated_group_is_judged_against_the_configured_minimum() -> None:
    """At 15 characters, a 12-character group repeated is too short a group."""
    strict = PasswordPolicy(min_length=15)

    with pytest.raises(WeakPasswordError, match="fewer than 15 characters repeated"):
        strict.accept("Tr0ub4dor&3Tr0ub4dor&3", ANN)


def test_the_email_is_compared_by_its_key() -> None:
    """The address in another spelling is still the address."""
    greek = Email.parse("ΟΔΥΣΣΕΑΣ@example.gr")

    with pytest.raises(WeakPasswordError, match="email address"):
        POLICY.accept("οδυσσεασ@example.gr", greek)
    with pytest.raises(WeakPasswordError, match="email address"):
        POLICY.accept("ΟΔΥΣΣΕΑΣ", greek)


def test_a_common_password_with_invisible_characters_is_still_common() -> None:
    """Zero-width characters do not take a password off the breached list."""
    with pytest.raises(WeakPasswordError, match="too common"):
        POLICY.accept("pass\u200bword\u200b1", ANN)


def test_passwords_are_nfkc_normalized() -> None:
    """Compatibility forms (full-width letters) normalize to the same password."""
    assert POLICY.accept("ｃｏｒｒｅｃｔｈｏｒｓｅ", ANN) == "correcthorse"


# --- cursors ------------------------------------------------------------------------------

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


@given(
    st.datetimes(
        min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)
    ),
    st.uuids(),
)
def test_cursors_round_trip(created_at: datetime, user_id: uuid.UUID) -> None:
    """Decoding an encoded position with the same key gives the position back."""
    position = ListPosition(created_at=created_at, user_id=UserId(user_id))

    assert decode_cursor(encode_cursor(position, KEY), KEY) == position


@given(st.text(max_size=60))
def test_anything_else_is_not_a_cursor(text: str) -> None:
    """Arbitrary text is refused with InvalidCursorError, never another exception."""
    with pytest.raises(InvalidCursorError):
        decode_cursor(text, KEY)


def test_a_cursor_signed_with_another_key_is_refused() -> None:
    """A cursor made by another deployment (another key) does not decode here."""
    cursor = encode_cursor(ListPosition(created_at=NOW, user_id=UserId(uuid.UUID(int=7))), KEY)

    with pytest.raises(InvalidCursorError):
        decode_cursor(cursor, OTHER_KEY)


@given(index=st.integers(min_value=2, max_value=55), replacement=st.sampled_from("AQgw_-09az"))
def test_an_altered_cursor_is_refused(index: int, replacement: str) -> None:
    """Changing any character of a cursor (its position or its signature) is detected."""
    cursor = encode_cursor(ListPosition(created_at=NOW, user_id=UserId(uuid.UUID(int=7))), KEY)
    altered = cursor[:index] + replacement + cursor[index + 1 :]

    if altered == cursor:
        return
    with pytest.raises(InvalidCursorError):
        decode_cursor(altered, KEY)


def test_a_forged_cursor_for_another_position_is_refused() -> None:
    """A client that re-encodes another position without the key gets a refusal."""
    cursor = encode_cursor(ListPosition(created_at=NOW, user_id=UserId(uuid.UUID(int=7))), KEY)
    raw = bytearray(base64.urlsafe_b64decode(cursor[2:] + "=="))
    raw[23] ^= 1  # the last byte of the user id: a neighbouring position
    forged = cursor[:2] + base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")

    with pytest.raises(InvalidCursorError):
        decode_cursor(forged, KEY)
    with pytest.raises(InvalidCursorError):
        decode_cursor(cursor + "A", KEY)
    with pytest.raises(InvalidCursorError):
        decode_cursor("x" + cursor[1:], KEY)
