"""Readiness: may this instance be sent traffic?

An instance is ready when its database answers within a second and the
schema there is exactly the one this version of usermgmt migrates to. The
answer names each check with a fixed word, never a URL or an error's text,
since it is shown to anyone who asks.
"""

from __future__ import annotations

from typing import Final, Literal

import attrs

from usermgmt.adapters.postgres import PostgresDatabase

READY_TIMEOUT: Final = 1.0
"""Seconds the readiness check waits for the database."""

DatabaseCheck = Literal["ok", "unavailable"]
MigrationsCheck = Literal["ok", "behind", "ahead", "unknown"]


@attrs.frozen
class Readiness:
    """The outcome of the readiness checks.

    *database* is ``ok`` when the database answered in time, else
    ``unavailable``. *migrations* is ``ok`` when the schema is at this
    version's newest migration, ``behind`` when some of its migrations are not
    applied, ``ahead`` when the database has migrations this version does not
    know (a newer release migrated it), and ``unknown`` when the database did
    not answer.
    """

    database: DatabaseCheck
    migrations: MigrationsCheck

    @property
    def ready(self) -> bool:
        """Whether every check passed."""
        return self.database == "ok" and self.migrations == "ok"


READY: Final = Readiness(database="ok", migrations="ok")


async def check_readiness(database: PostgresDatabase | None, known: frozenset[int]) -> Readiness:
    """Check *database* (``None``: in memory, always ready) against the *known* migrations."""
    if database is None:
        return READY
    applied = await database.applied_migrations(READY_TIMEOUT)
    if applied is None:
        return Readiness(database="unavailable", migrations="unknown")
    if applied - known:
        return Readiness(database="ok", migrations="ahead")
    if known - applied:
        return Readiness(database="ok", migrations="behind")
    return READY
