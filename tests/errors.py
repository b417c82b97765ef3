"""Every domain error, and an instance of each: for the tests that check each face maps them all."""

from __future__ import annotations

from typing import Final

import attrs

from usermgmt import UserMgmtError

# Field annotations are strings (postponed evaluation); one placeholder value per type.
_PLACEHOLDERS: Final[dict[object, object]] = {"str": "email", "int": 3, "bool": True}


def domain_errors(*, with_root: bool = False) -> list[type[UserMgmtError]]:
    """Return every subclass of UserMgmtError (and the root itself if asked), sorted by name."""
    found: list[type[UserMgmtError]] = [UserMgmtError] if with_root else []
    pending = list(UserMgmtError.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(found, key=lambda cls: cls.__name__)


def instance_of(cls: type[UserMgmtError]) -> UserMgmtError:
    """Build *cls* with a placeholder for every required field."""
    required = {
        field.name: _PLACEHOLDERS[field.type]
        for field in attrs.fields(cls)
        if field.default is attrs.NOTHING
    }
    return cls(**required)
