"""Hypothesis strategies shared by the property tests."""

from __future__ import annotations

import string
import unicodedata

from hypothesis import strategies as st

from usermgmt.adapters.blocklist import common_passwords
from usermgmt.domain.policy import SERVICE_NAME

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


def _dot_atom(local: str) -> bool:
    return not local.startswith(".") and not local.endswith(".") and ".." not in local


def passwords(min_size: int = 12) -> st.SearchStrategy[str]:
    """Passwords the default policy accepts: long, random Unicode, not common, not our name."""
    alphabet = st.characters(
        codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters="\x00"
    )
    refused = common_passwords() | {SERVICE_NAME}

    def accepted(password: str) -> bool:
        normalized = unicodedata.normalize("NFKC", password)  # the form the policy checks
        return len(normalized) >= min_size and normalized.casefold() not in refused

    return st.text(alphabet, min_size=min_size, max_size=40).filter(accepted)


def names() -> st.SearchStrategy[str]:
    """Display names within the length limit."""
    return st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=60)
