"""Unicode text rules: the NFKC_Casefold key and the character classes the policies use."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from usermgmt.domain.text import is_blank, is_control, is_default_ignorable, nfkc_casefold

# Any text Python can hold that a client can send: everything but lone surrogates.
_TEXT = st.text(st.characters(exclude_categories=("Cs",)))


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("ΟΔΥΣΣΕΑΣ", "οδυσσεασ"),  # capital sigma folds to small sigma wherever it stands
        ("οδυσσεας", "οδυσσεασ"),  # and so does the final sigma
        ("ｃat", "cat"),  # full-width letters are compatibility forms
        ("ﬁle", "file"),  # so are ligatures
        ("Straße", "strasse"),  # full case folding, not lower(): ß is ss
        ("STRAẞE", "strasse"),  # capital sharp s
        ("Ⅸ", "ix"),  # Roman numeral
        ("㎒", "mhz"),  # square unit
        ("ǅ", "dž"),  # title-case digraph
        ("K", "k"),  # KELVIN SIGN
        ("Å", "å"),  # ANGSTROM SIGN
        ("İ", "i\u0307"),  # dotted capital I keeps its dot (no Turkic special case)
        ("\u0345", "ι"),  # COMBINING GREEK YPOGEGRAMMENI
        ("a\u200bb", "ab"),  # ZERO WIDTH SPACE is default-ignorable: dropped
        ("a\ufe0fb", "ab"),  # VARIATION SELECTOR-16 too
        ("\u3164", ""),  # HANGUL FILLER too
        ("e\u034f\u0301", "é"),  # once the joiner is gone, e and its accent compose
        ("Ann@Example.ORG", "ann@example.org"),
    ],
)
def test_the_key_folds_case_compatibility_forms_and_invisible_characters(
    text: str, key: str
) -> None:
    """Unicode's NFKC_Casefold, checked on characters where lower() and plain NFKC differ."""
    assert nfkc_casefold(text) == key


def test_dotless_i_stays_a_letter_of_its_own() -> None:
    """Full case folding has no Turkic rule: DOTLESS I is not "i", though it upper-cases to "I"."""
    assert nfkc_casefold("ı") != nfkc_casefold("i")
    assert nfkc_casefold("I") == nfkc_casefold("i")


@given(_TEXT)
def test_the_key_is_idempotent(text: str) -> None:
    """Folding a key again changes nothing."""
    key = nfkc_casefold(text)

    assert nfkc_casefold(key) == key


@given(_TEXT)
def test_the_key_is_nfkc_and_shows_no_invisible_characters(text: str) -> None:
    """A key is in NFKC and holds no default-ignorable code point."""
    key = nfkc_casefold(text)

    assert unicodedata.is_normalized("NFKC", key)
    assert not any(is_default_ignorable(c) for c in key)


@given(_TEXT.filter(lambda t: "ı" not in t))
def test_case_and_normal_form_variants_share_one_key(text: str) -> None:
    """Upper, lower, swapped case and every normal form of a text have the same key."""
    variants = [
        text.upper(),
        text.lower(),
        text.swapcase(),
        text.casefold(),
        *(unicodedata.normalize(form, text) for form in ("NFC", "NFD", "NFKC", "NFKD")),
    ]

    assert {nfkc_casefold(v) for v in variants} == {nfkc_casefold(text)}


@given(st.text(st.characters(max_codepoint=0x7F)))
def test_ascii_keys_are_lowercase(text: str) -> None:
    """On ASCII the key is simply the lowercase text."""
    assert nfkc_casefold(text) == text.lower()


@pytest.mark.parametrize("char", ["\x00", "\t", "\n", "\r", "\x1b", "\x7f", "\x85", "\x9b"])
def test_c0_del_and_c1_are_control_characters(char: str) -> None:
    """C0 (with TAB and LF), DEL and C1 are control characters."""
    assert is_control(char)


@pytest.mark.parametrize("char", [" ", "a", "\u200b", "\u202e", "\u2028"])
def test_other_characters_are_not_control_characters(char: str) -> None:
    """Format characters and separators are not in the control category."""
    assert not is_control(char)


@pytest.mark.parametrize(
    "char", [" ", "\u00a0", "\u3000", "\u2028", "\u200b", "\u2060", "\ufeff", "\u3164", "\u2800"]
)
def test_white_space_and_invisible_characters_are_blank(char: str) -> None:
    """White space, zero-width and filler characters all show nothing."""
    assert is_blank(char)


@pytest.mark.parametrize("char", ["a", ".", "\u0301", "\U0001f40d"])
def test_visible_characters_are_not_blank(char: str) -> None:
    """Letters, punctuation, marks and emoji show something."""
    assert not is_blank(char)
