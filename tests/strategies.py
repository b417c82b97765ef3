"""Hypothesis strategies shared by the property tests."""

from __future__ import annotations

import itertools
import string
import unicodedata

from hypothesis import strategies as st

from usermgmt.adapters.blocklist import common_passwords

_LOCAL = string.ascii_letters + string.digits + "._+-"


@st.composite
def emails(draw: st.DrawFn) -> str:
    """Valid addresses in random letter case, e.g. ``Ann.B+x@Mail-3.Example.ORG``."""
    local = draw(st.text(_LOCAL, min_size=1, max_size=20).filter(_dot_atom))
    labels = draw(
        st.lists(
            st.text(string.ascii_letters + string.digits, min_size=1, max_size=10),
            min_size=1,
            max_size=3,
        )
    )
    tld = draw(st.sampled_from(["org", "COM", "Net", "io", "dev"]))
    return f"{local}@{'.'.join([*labels, tld])}"


# Letters whose case and compatibility variants the key must fold together. DOTLESS I (U+0131)
# is left out on purpose: Unicode's full case folding keeps it apart from "i", though its
# upper case is "I".
_LETTERS = (
    string.ascii_letters
    + string.digits
    + "αβγδεζηθικλμνξοπρσςτυφχψωΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩάέήίόύώ"
    + "абвгдежзийклмнопрстуфхцчшщъыьэюяАБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"
    + "äöüßẞàéèçñøåæœÄÖÜÀÉÈÇÑØÅÆŒǅǈǋİĳĲ"
    + "ﬁﬂﬀﬃﬄﬅﬆ"  # ligatures, which NFKC spells out
)
_FULL_WIDTH_OFFSET = 0xFEE0  # "a" + offset is FULLWIDTH LATIN SMALL LETTER A
_INVISIBLE = "\ufe0f\u3164\u034f"  # default-ignorable, yet accepted in an address


def _variant_of(draw: st.DrawFn, char: str) -> str:
    choices = [char, char.upper(), char.lower(), char.title()]
    if char.isascii() and char.isalnum():
        choices.append(chr(ord(char) + _FULL_WIDTH_OFFSET))
    spelled = draw(st.sampled_from(choices))
    if draw(st.integers(0, 9)) == 0:
        spelled += draw(st.sampled_from(_INVISIBLE))
    return spelled


@st.composite
def email_variants(draw: st.DrawFn) -> tuple[str, str]:
    """An address with Unicode letters and another spelling of it.

    The other spelling changes letter case (Greek final sigma, ß and ẞ
    included), uses full-width forms and spelled-out ligatures, and sprinkles
    invisible characters: all of it is one address under the NFKC_Casefold key.
    """
    local = draw(st.text(_LETTERS, min_size=1, max_size=16))
    domain = draw(st.text(string.ascii_lowercase, min_size=1, max_size=10)) + ".org"
    other_local = "".join(_variant_of(draw, c) for c in local)
    other_domain = draw(st.sampled_from([domain, domain.upper()]))
    return f"{local}@{domain}", f"{other_local}@{other_domain}"


def _dot_atom(local: str) -> bool:
    return not local.startswith(".") and not local.endswith(".") and ".." not in local


def passwords(min_size: int = 12) -> st.SearchStrategy[str]:
    """Passwords the default policy accepts: long, random Unicode, never on a common list.

    Random text that happens to be blank, repetitive or a run is left out, by
    deliberately naive checks of their own (an oracle, not the policy's code).
    """
    alphabet = st.characters(
        codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters="\x00"
    )
    common = common_passwords()
    return st.text(alphabet, min_size=min_size, max_size=40).filter(
        lambda p: (
            len(unicodedata.normalize("NFKC", p)) >= min_size
            and p.casefold() not in common
            and unicodedata.normalize("NFKC", p).casefold() != "usermgmt"  # the service's name
            and not _looks_weak(unicodedata.normalize("NFKC", p), min_size)
        )
    )


def _looks_weak(password: str, min_size: int) -> bool:
    seen = "".join(c for c in password if unicodedata.category(c) not in ("Cf", "Mn", "Zs"))
    seen = seen.casefold()
    if len(set(seen.strip())) < 3 or any(c in password for c in "\u115f\u1160\u3164\uffa0\u2800"):
        return True  # blank or nearly, or holding a filler that shows nothing
    repeated = any(
        (seen[:size] * len(seen))[: len(seen)] == seen
        for size in range(1, min(min_size, len(seen) // 2 + 1))
    )
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(seen)}
    return repeated or steps in ({1}, {-1}, {1, -9}, {-1, 9})


# Everyday words in a few languages: what people string together into a passphrase.
_WORDS = (  # noqa: SIM905 - a paragraph of words reads better than a list of strings
    "apple river stone cloud quiet orange tiger window garden silver candle forest "
    "pencil rocket marble ocean violet thunder meadow lantern copper falcon harbor "
    "pepper saddle willow breeze castle dragon ember frost glacier hollow island "
    "jungle kettle lemon mirror needle olive puzzle quartz ribbon shadow tunnel "
    "umbrella velvet walnut yellow zebra anchor basket cactus dolphin eagle fossil "
    "guitar hammer igloo jacket koala ladder magnet nickel orbit parrot quiver "
    "raven sponge tomato unicorn valley wizard yogurt blue red green seven nine "
    "maison soleil lune Straße Brücke Mädchen café naïve jalapeño año "
    "θάλασσα ήλιος μέλι мир книга солнце 海 山 桜 café"
).split()


@st.composite
def _phrases(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(_WORDS), min_size=3, max_size=6, unique=True))
    if draw(st.booleans()):
        words = [w.capitalize() for w in words]
    separator = draw(st.sampled_from([" ", "-", ".", "_", "", ", "]))
    suffix = draw(st.sampled_from(["", "", "!", "1", "42", "2024", " 7"]))
    return separator.join(words) + suffix


def passphrases() -> st.SearchStrategy[str]:
    """Realistic passphrases of at least 8 characters.

    Three to six different words, a separator, maybe a number at the end.
    """
    return _phrases().filter(lambda p: len(unicodedata.normalize("NFKC", p)) >= 8)


UNSAFE_IN_NAMES = "\u2028\u2029" + "".join(
    map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
)
"""Line separators and bidirectional overrides and isolates: never in a display name."""


def names() -> st.SearchStrategy[str]:
    """Display names the rules accept: any script, no control, line-breaking or bidi override."""
    return st.text(
        st.characters(exclude_categories=("Cs", "Cc"), exclude_characters=UNSAFE_IN_NAMES),
        max_size=60,
    )
