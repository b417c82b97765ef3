"""Unicode rules for text that people type: caseless keys, invisible and unsafe characters.

Pure functions over :mod:`unicodedata`, so every face and every adapter
compares, refuses and folds text exactly alike.
"""

from __future__ import annotations

import functools
import unicodedata
from typing import Final

# Default_Ignorable_Code_Point as DerivedCoreProperties.txt of Unicode 14 lists it (the
# version of Python 3.11's unicodedata), reserved blocks kept for future invisible
# characters included. unicodedata does not expose the property, hence the table.
_DEFAULT_IGNORABLE_RANGES: Final = (
    (0x00AD, 0x00AD),  # SOFT HYPHEN
    (0x034F, 0x034F),  # COMBINING GRAPHEME JOINER
    (0x061C, 0x061C),  # ARABIC LETTER MARK
    (0x115F, 0x1160),  # HANGUL CHOSEONG FILLER, HANGUL JUNGSEONG FILLER
    (0x17B4, 0x17B5),  # KHMER VOWEL INHERENT AQ, AA
    (0x180B, 0x180F),  # MONGOLIAN FREE VARIATION SELECTORS, VOWEL SEPARATOR
    (0x200B, 0x200F),  # ZERO WIDTH SPACE .. RIGHT-TO-LEFT MARK
    (0x202A, 0x202E),  # bidirectional embeddings and overrides
    (0x2060, 0x206F),  # WORD JOINER .. NOMINAL DIGIT SHAPES, bidirectional isolates
    (0x3164, 0x3164),  # HANGUL FILLER
    (0xFE00, 0xFE0F),  # VARIATION SELECTOR-1 .. 16
    (0xFEFF, 0xFEFF),  # ZERO WIDTH NO-BREAK SPACE
    (0xFFA0, 0xFFA0),  # HALFWIDTH HANGUL FILLER
    (0xFFF0, 0xFFF8),  # reserved
    (0x1BCA0, 0x1BCA3),  # SHORTHAND FORMAT controls
    (0x1D173, 0x1D17A),  # MUSICAL SYMBOL BEGIN BEAM .. END PHRASE
    (0xE0000, 0xE0FFF),  # tags, VARIATION SELECTOR-17 .. 256, reserved
)
_DEFAULT_IGNORABLE: Final = frozenset(
    chr(code) for start, end in _DEFAULT_IGNORABLE_RANGES for code in range(start, end + 1)
)
_DROP_IGNORABLE: Final = dict.fromkeys(map(ord, _DEFAULT_IGNORABLE))


BIDI_CONTROLS: Final = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)]
)
"""Bidirectional embeddings, overrides (U+202A to U+202E) and isolates (U+2066 to U+2069).

They reorder the text around them: ``"admin\u202etxt.exe"`` shows as ``adminexe.txt``.
"""

LINE_SEPARATORS: Final = frozenset("\u2028\u2029")
"""LINE SEPARATOR and PARAGRAPH SEPARATOR: line breaks that are not control characters."""


BLANK_LOOKING: Final = frozenset("\u2800")
"""Characters that are neither white space nor default-ignorable but show nothing.

U+2800 BRAILLE PATTERN BLANK is the usual "invisible letter" of user names and
passwords.
"""


def is_control(char: str) -> bool:
    """Whether *char* is a control character: C0 (with TAB, LF, ESC), DEL or C1."""
    return unicodedata.category(char) == "Cc"


def is_default_ignorable(char: str) -> bool:
    """Whether *char* has Unicode's Default_Ignorable_Code_Point property (it shows nothing)."""
    return char in _DEFAULT_IGNORABLE


def is_blank(char: str) -> bool:
    """Whether *char* shows nothing: white space, default-ignorable, or blank-looking."""
    return char.isspace() or char in _DEFAULT_IGNORABLE or char in BLANK_LOOKING


def without_default_ignorables(text: str) -> str:
    """Return *text* without its default-ignorable characters."""
    return text.translate(_DROP_IGNORABLE)


@functools.lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    # NFKC_Casefold of one code point, as DerivedNormalizationProps.txt derives it.
    folded = unicodedata.normalize("NFKC", char).casefold()
    return unicodedata.normalize("NFKC", without_default_ignorables(folded))


def nfkc_casefold(text: str) -> str:
    """Return Unicode's ``toNFKC_Casefold(text)``: the key under which caseless text compares.

    Computed as the Unicode Character Database defines it: each code point *C*
    becomes ``NFKC(casefold(NFKC(C)))`` without default-ignorable code points
    (Python's ``str.casefold`` is Unicode's full case folding), and the result
    is normalized to NFC. So case, compatibility forms (full-width letters,
    ligatures, Roman numerals) and invisible characters make no difference:
    ``ΟΔΥΣΣΕΑΣ`` and ``οδυσσεασ``, ``ﬁ`` and ``fi``, ``ß`` and ``ss`` fold alike.
    The function is idempotent.
    """
    if text.isascii():  # NFKC is the identity on ASCII, and full case folding is lower()
        return text.lower()
    return unicodedata.normalize("NFC", "".join(map(_fold_char, text)))
