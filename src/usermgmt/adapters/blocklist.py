"""The bundled list of common and breached passwords."""

from __future__ import annotations

import functools
from importlib import resources


@functools.cache
def common_passwords(min_length: int = 1) -> frozenset[str]:
    """Return the bundled common passwords (lowercase) at least *min_length* long.

    Shorter ones are refused by the length rule anyway, so they are not kept
    in memory.
    """
    text = (resources.files("usermgmt.adapters") / "data" / "common-passwords.txt").read_text(
        encoding="utf-8"
    )
    return frozenset(
        line
        for line in text.splitlines()
        if line and not line.startswith("#") and len(line) >= min_length
    )
