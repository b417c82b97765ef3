"""The password policy (NIST SP 800-63B): which passwords are accepted, and their checked form."""

from __future__ import annotations

import itertools
import sys
import unicodedata
from collections.abc import Container
from typing import Final

import attrs

from usermgmt.domain.errors import WeakPasswordError
from usermgmt.domain.model import Email
from usermgmt.domain.text import is_blank, is_control, nfkc_casefold, without_default_ignorables

PASSWORD_MAX_LENGTH: Final = 1024
SERVICE_NAME: Final = "usermgmt"


def normalize_password(raw: str) -> str:
    """Return the form of *raw* that is checked and hashed (NFKC, per NIST SP 800-63B).

    The same password typed in another Unicode normal form therefore verifies.
    """
    return unicodedata.normalize("NFKC", raw)


@attrs.frozen(kw_only=True)
class PasswordPolicy:
    """NIST SP 800-63B: long enough, bounded, not common, no composition rules.

    Refused, each with its own reason: too long or too short (code points of
    the NFKC form), a control character, nothing but white space or invisible
    characters, one character or a short group of characters repeated, a run
    of consecutive characters (``12345678``, ``abcdefgh``, ``98765432``, digits
    wrapping round as in ``12345678901``), the email or its local part or the
    service's name, and the bundled list of breached passwords.
    """

    min_length: int = 8
    max_length: int = PASSWORD_MAX_LENGTH
    common: Container[str] = attrs.field(default=frozenset(), repr=False)
    """Lowercase passwords refused as common or breached."""

    def accept(self, password: str, email: Email) -> str:
        """Return the normalized *password* if the policy allows it for *email*.

        Length is counted in code points of the NFKC form; the bound on the raw
        form is checked first so that an oversized value costs nothing more.
        The rules on patterns look at what can be seen: invisible characters are
        left out, and letter case does not count.

        Raises:
            WeakPasswordError: with the reason the password was refused.
        """
        too_long = f"must be at most {self.max_length} characters"
        if len(password) > self.max_length:
            raise WeakPasswordError("password", too_long)
        normalized = normalize_password(password)
        if len(normalized) > self.max_length:
            raise WeakPasswordError("password", too_long)
        if any(is_control(c) for c in normalized):
            raise WeakPasswordError("password", "must not contain control characters")
        if len(normalized) < self.min_length:
            raise WeakPasswordError("password", f"must be at least {self.min_length} characters")
        if all(is_blank(c) for c in normalized):
            raise WeakPasswordError(
                "password", "must not be only white space or invisible characters"
            )
        local_part = email.value.rsplit("@", 1)[0]
        if nfkc_casefold(normalized) in {email.key, nfkc_casefold(local_part), SERVICE_NAME}:
            raise WeakPasswordError("password", "must not be the email address or the service name")
        seen = without_default_ignorables(normalized).casefold()
        if seen in self.common:
            raise WeakPasswordError(
                "password", "is too common: it appears in lists of breached passwords"
            )
        self._refuse_patterns(seen)
        return normalized

    def _refuse_patterns(self, seen: str) -> None:
        period = _shortest_period(seen)
        if period == 1 and len(seen) > 1:
            raise WeakPasswordError("password", "must not be one character repeated")
        # A repeated group is as strong as one copy of it, which must pass the length rule.
        if 2 * period <= len(seen) and period < self.min_length:
            raise WeakPasswordError(
                "password",
                f"must not be a group of fewer than {self.min_length} characters repeated",
            )
        if _is_run(seen, 1) or _is_run(seen, -1):
            raise WeakPasswordError(
                "password",
                "must not be a run of consecutive characters such as 12345678 or abcdefgh",
            )


def _shortest_period(text: str) -> int:
    """Return the least *p* with ``text[i] == text[i + p]`` throughout (linear time).

    Knuth-Morris-Pratt's failure function: *text* minus its longest border.
    Linear, so a 1024-character password costs no more than a short one.
    """
    border = [0] * len(text)
    matched = 0
    for i in range(1, len(text)):
        while matched and text[i] != text[matched]:
            matched = border[matched - 1]
        if text[i] == text[matched]:
            matched += 1
        border[i] = matched
    return len(text) - (border[-1] if text else 0)


# Alphabets that wrap round: after 9 comes 0 (…7890123…), after z comes a.
_CYCLES: Final = ("0123456789", "abcdefghijklmnopqrstuvwxyz")


def _is_run(text: str, step: int) -> bool:
    """Whether every character of *text* follows the one before it by *step* (+1 or -1).

    Digits and the Latin letters wrap round; any other character steps by code
    point (``αβγδεζηθ``, ``абвгдежз``).
    """
    return len(text) > 1 and all(_follower(a, step) == b for a, b in itertools.pairwise(text))


def _follower(char: str, step: int) -> str:
    for cycle in _CYCLES:
        index = cycle.find(char)
        if index >= 0:
            return cycle[(index + step) % len(cycle)]
    code = ord(char) + step
    return chr(code) if 0 <= code <= sys.maxunicode else ""
