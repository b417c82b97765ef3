"""The embedded PostgreSQL server (the optional ``pgserver`` package)."""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Final, Protocol

import psycopg
from psycopg import sql

from usermgmt.domain.errors import ConfigurationError

log = logging.getLogger("usermgmt")

DATABASE: Final = "usermgmt"
_HANDLES: Final = ".handle_pids.json"  # pgserver's list of the processes that use the server


class EmbeddedServer(Protocol):
    """What usermgmt uses of a ``pgserver`` server handle."""

    def get_uri(self, database: str | None = None) -> str:
        """Return a connection URL for *database*."""
        ...


def forget_dead_users(pgdata: Path) -> list[int]:
    """Drop the processes that died without saying so from the server's list of users.

    pgserver records each process that uses the server in
    ``pgdata/.handle_pids.json`` and stops the server when the last of them
    exits. A process killed outright (``kill -9``, a crash, a power cut) never
    takes itself off that list, so the server would never be stopped again:
    every later user would see another process still on the list. Called
    before joining the server, under pgserver's own lock, this keeps only the
    processes that still run and that started before the list was last
    written (a younger process with the same id is a reuse of the id).

    Returns:
        The process ids that were dropped.
    """
    handles = pgdata / _HANDLES
    if not handles.exists():
        return []
    from pgserver.postgres_server import PostgresServer  # noqa: PLC0415 - optional, like the rest

    with PostgresServer._lock:  # noqa: SLF001 - the lock pgserver takes around that same file
        try:
            recorded = json.loads(handles.read_text(encoding="utf-8"))
            written = handles.stat().st_mtime
        except (OSError, ValueError):
            return []  # unreadable: pgserver will say so itself
        if not isinstance(recorded, list):
            return []
        alive = [pid for pid in recorded if _still_uses(pid, written)]
        dead = [pid for pid in recorded if pid not in alive]
        if dead:
            handles.write_text(json.dumps(alive), encoding="utf-8")
            log.info("the embedded database forgot processes that ended unannounced: %s", dead)
    return dead


def _still_uses(pid: object, written: float) -> bool:
    import psutil  # noqa: PLC0415 - comes with pgserver

    if not isinstance(pid, int) or isinstance(pid, bool):
        return False
    try:
        process = psutil.Process(pid)
        started = process.create_time()
        zombie = process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # it runs; when in doubt, keep it, as pgserver would
    # One second of slack: the two clocks are not read with the same precision.
    return not zombie and started <= written + 1


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
    forget_dead_users(pgdata)
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
