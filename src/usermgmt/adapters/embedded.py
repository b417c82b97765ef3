"""The embedded PostgreSQL server (the optional ``pgserver`` package)."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Final, Protocol

import psycopg
from psycopg import sql

from usermgmt.domain.errors import ConfigurationError

log = logging.getLogger("usermgmt")

DATABASE: Final = "usermgmt"


class EmbeddedServer(Protocol):
    """What usermgmt uses of a ``pgserver`` server handle."""

    def get_uri(self, database: str | None = None) -> str:
        """Return a connection URL for *database*."""
        ...


def start_embedded(data_dir: Path) -> tuple[EmbeddedServer, str]:
    """Start (or join) the embedded server whose data lives in *data_dir*/pgdata.

    The server is shared by every process that uses the same directory and
    stops when the last of them exits; its data stays for the next run.

    Returns:
        The server handle (keep it alive) and the URL of the ``usermgmt`` database.

    Raises:
        ConfigurationError: the ``embedded`` extra is not installed.
    """
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore"
        )  # platformdirs warns at import when XDG_RUNTIME_DIR is unset
        try:
            from pgserver import get_server  # type: ignore[attr-defined]  # noqa: PLC0415 - no __all__; optional and slow to import
        except ImportError:
            msg = (
                "no database URL was given and the embedded database is not installed: "
                "set USERMGMT_DATABASE_URL, or install usermgmt[embedded]"
            )
            raise ConfigurationError(msg) from None
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)  # it will hold the signing secret
    pgdata = data_dir / "pgdata"
    pgdata.mkdir(exist_ok=True)
    server: EmbeddedServer = get_server(pgdata, cleanup_mode="stop")
    with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
        ).fetchone()
        if exists is None:
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
                log.info("created the embedded database in %s", pgdata)
            except psycopg.errors.DuplicateDatabase:
                pass  # another process made it a moment ago
    return server, server.get_uri(DATABASE)
