"""Databases for the benchmark: one per system, each with the same million users.

Every system gets its own database on the local PostgreSQL, its own schema
(made by the system itself: usermgmt's migrations, fastapi-users' documented
``create_all``, Flask-SQLAlchemy's ``create_all``) and the same bulk users,
inserted with one ``generate_series`` statement (for usermgmt, with their
password credentials, which live in a table of their own): ``u1@example.org`` ...
``uN@example.org``, one second apart, all with one real argon2id hash (argon2-cffi
defaults) of the same password, ``u1`` an admin. Then ``VACUUM ANALYZE``.
Idempotent: a database that already holds the users is left as it is.
"""

from __future__ import annotations

import subprocess
import time
from typing import Final

import argon2
import psycopg
from systems import EMAIL, FASTAPI_USERS, FLASK, PASSWORD, PG, USERMGMT, VENVS, System

PGBENCH_DB: Final = "bench_pgbench"
PGBENCH_SCALE: Final = 10

_INSERT: Final = {
    # The users and their passwords (a table of their own) in one set-based statement: the
    # rows never leave the server, which is as fast as COPY without sending them.
    "usermgmt": """
        WITH inserted AS (
            INSERT INTO users (id, email, email_key, name, role, is_active, created_at,
                               updated_at)
            SELECT gen_random_uuid(), 'u' || g || '@example.org', 'u' || g || '@example.org',
                   'User ' || g,
                   CASE WHEN g = 1 THEN 'admin' ELSE 'user' END, true,
                   timestamptz '2020-01-01 00:00:00+00' + g * interval '1 second',
                   timestamptz '2020-01-01 00:00:00+00' + g * interval '1 second'
            FROM generate_series(1, %(n)s) AS g
            RETURNING id, created_at
        )
        INSERT INTO credentials (id, user_id, kind, secret, created_at, updated_at)
        SELECT gen_random_uuid(), id, 'password', %(hash)s, created_at, created_at
        FROM inserted
    """,
    "fastapi-users": """
        INSERT INTO "user" (id, email, hashed_password, is_active, is_superuser, is_verified)
        SELECT gen_random_uuid(), 'u' || g || '@example.org', %(hash)s, true, g = 1, false
        FROM generate_series(1, %(n)s) AS g
    """,
    "flask": """
        INSERT INTO users (id, email, name, password_hash, is_admin, created_at)
        SELECT g, 'u' || g || '@example.org', 'User ' || g, %(hash)s, g = 1,
               timestamptz '2020-01-01 00:00:00+00' + g * interval '1 second'
        FROM generate_series(1, %(n)s) AS g
    """,
}
_TABLE: Final = {"usermgmt": "users", "fastapi-users": '"user"', "flask": "users"}
_EMAIL_COLUMN: Final = "email"


def log(message: str) -> None:
    print(f"[prepare] {message}", flush=True)


def create_database(name: str) -> bool:
    """Create database *name* unless it exists; return whether it was created."""
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
        return True


def make_schema(system: System) -> None:
    """Let the system create its own tables."""
    if system.name == "usermgmt":
        python = VENVS / "usermgmt" / "bin" / "python"
        args = [str(python), "prepare_usermgmt.py", "migrate", system.dsn]
        subprocess.run(args, check=True, cwd=system.cwd.parent)
        return
    venv = "fastapi-users" if system is FASTAPI_USERS else "flask"
    module = "fastapi_users_app.py" if system is FASTAPI_USERS else "flask_app.py"
    python = VENVS / venv / "bin" / "python"
    subprocess.run(
        [str(python), module, "init-db"], check=True, cwd=system.cwd, env=system.environment()
    )


def bulk_users(system: System, count: int, password_hash: str) -> None:
    """Insert users 1..*count* unless user *count* exists already; then VACUUM ANALYZE."""
    table = _TABLE[system.name]
    last = EMAIL.format(n=count)
    with psycopg.connect(system.dsn, autocommit=True) as conn:
        found = conn.execute(
            f"SELECT 1 FROM {table} WHERE lower(email) = %s",  # noqa: S608 - our constant
            (last,),
        ).fetchone()
        if found:
            log(f"{system.name}: {count:,} bulk users already there")
            return
        started = time.monotonic()
        with conn.transaction():
            conn.execute(
                f"DELETE FROM {table} WHERE email LIKE 'u%%@example.org'"  # noqa: S608
            )
            conn.execute(_INSERT[system.name], {"hash": password_hash, "n": count})
            if system is FLASK:
                conn.execute(
                    "SELECT setval(pg_get_serial_sequence('users', 'id'),"
                    " (SELECT max(id) FROM users))"
                )
        conn.execute(f"VACUUM ANALYZE {table}")
        if system is USERMGMT:
            conn.execute("VACUUM ANALYZE credentials")
        log(f"{system.name}: {count:,} users inserted in {time.monotonic() - started:.0f} s")


def pgbench_database() -> None:
    """Create and fill pgbench's own database (scale 10: one million accounts)."""
    create_database(PGBENCH_DB)
    with psycopg.connect(f"{PG}/{PGBENCH_DB}") as conn:
        ready = conn.execute("SELECT to_regclass('pgbench_accounts') IS NOT NULL").fetchone()
    if ready and ready[0]:
        return
    subprocess.run(
        ["pgbench", "-i", "-q", "-s", str(PGBENCH_SCALE), f"{PG}/{PGBENCH_DB}"],
        check=True,
    )


def prepare(systems: list[System], users: int) -> None:
    """Make every database ready for a run."""
    password_hash = argon2.PasswordHasher().hash(PASSWORD)
    for system in systems:
        if create_database(system.database):
            log(f"created database {system.database}")
        make_schema(system)
        bulk_users(system, users, password_hash)
    pgbench_database()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=1_000_000)
    args = parser.parse_args()
    prepare([USERMGMT, FASTAPI_USERS, FLASK], args.users)
