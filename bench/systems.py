"""The three systems under test: how to start each one and how to speak to it."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Final
from urllib.parse import quote

BENCH: Final = Path(__file__).resolve().parent
VENVS: Final = BENCH / ".venvs"
PEERS: Final = BENCH / "peers"
HOST: Final = "127.0.0.1"
PG: Final = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
# 42 bytes: production mode accepts it. Benchmark data, not a secret.
JWT_SECRET: Final = "bench-only-signing-secret-0123456789abcdef"  # noqa: S105
PASSWORD: Final = "quartz-lantern-47-meadow"  # noqa: S105 - every bulk user's password
EMAIL: Final = "u{n}@example.org"  # bulk user n (1-based); u1 is an admin


@dataclasses.dataclass(frozen=True)
class System:
    """One system under test: its server command and its routes."""

    name: str
    label: str
    database: str
    port: int
    me_path: str
    login_path: str
    register_path: str
    login_form: bool  # fastapi-users takes an OAuth2 password form, the others JSON
    offset_path: str | None  # the deep offset page, if the system has a user list
    cursor_path: str | None  # the deep cursor page (with {cursor}), if it has one
    forgot_path: str | None = None  # the forgot-password route, if the system mails resets
    pythonpath: str | None = None  # a source tree to run instead of the installed one
    executable: str | None = None  # another installation's ``usermgmt`` (bench/compare.py)

    @property
    def dsn(self) -> str:
        """The libpq URL of this system's own database."""
        return f"{PG}/{self.database}"

    def command(self, workers: int) -> list[str]:
        """Return the command that serves this system with *workers* worker processes."""
        port = str(self.port)
        if self.name.startswith("usermgmt"):
            exe = self.executable or str(VENVS / "usermgmt" / "bin" / "usermgmt")
            return [exe, "serve", "--host", HOST, "--port", port, "--workers", str(workers)]
        if self.name == "fastapi-users":
            exe = VENVS / "fastapi-users" / "bin" / "uvicorn"
            return [
                *(str(exe), "fastapi_users_app:app", "--host", HOST, "--port", port),
                *("--workers", str(workers)),
            ]
        exe = VENVS / "flask" / "bin" / "gunicorn"
        return [str(exe), "--workers", str(workers), "--bind", f"{HOST}:{port}", "flask_app:app"]

    def environment(self) -> dict[str, str]:
        """Return the server's environment: its database, its secret, load limits lifted."""
        env = dict(os.environ)
        if self.pythonpath:
            env["PYTHONPATH"] = self.pythonpath
        if self.name.startswith("usermgmt"):
            env |= {
                "USERMGMT_ENV": "production",
                "USERMGMT_DATABASE_URL": self.dsn,
                "USERMGMT_JWT_SECRET": JWT_SECRET,
                # The per-IP limit would refuse a load generator on one address, so it is
                # lifted. Login throttling stays on at its defaults (every benchmark login
                # succeeds), and so do argon2 defaults and revocation checks.
                "USERMGMT_RATE_LIMIT_PER_MINUTE": "0",
                # Production requires a mail URL. Mail goes to .eml files, so that the
                # background delivery costs what it costs a deployment (S7 mails resets).
                "USERMGMT_MAIL_URL": self.mailbox.as_uri(),
            }
        elif self.name == "fastapi-users":
            env |= {
                "BENCH_DATABASE_URL": self.dsn.replace("postgresql://", "postgresql+asyncpg://"),
                "BENCH_JWT_SECRET": JWT_SECRET,
            }
        else:
            env |= {
                "BENCH_DATABASE_URL": self.dsn.replace("postgresql://", "postgresql+psycopg2://"),
                "BENCH_JWT_SECRET": JWT_SECRET,
            }
        return env

    @property
    def mailbox(self) -> Path:
        """The directory this system's mail is delivered to, emptied at each start."""
        return BENCH / "results" / "mail" / self.name

    @property
    def cwd(self) -> Path:
        """Where the server starts (the peers import their app module from there)."""
        return PEERS

    def login_body(self, email: str, password: str) -> tuple[str, str]:
        """Return the content type and body of a login request."""
        if self.login_form:
            body = f"username={quote(email)}&password={quote(password)}"
            return "application/x-www-form-urlencoded", body
        return "application/json", json.dumps({"email": email, "password": password})

    def login_template(self) -> tuple[str, str]:
        """Return the content type and a login body with ``{n}`` for the bulk user's number."""
        if self.login_form:
            body = f"username=u{{n}}%40example.org&password={quote(PASSWORD)}"
            return "application/x-www-form-urlencoded", body
        return "application/json", json.dumps({"email": EMAIL, "password": PASSWORD})

    def register_template(self, prefix: str) -> tuple[str, str]:
        """Return a registration body with ``{n}`` for a counter; *prefix* keeps emails unique."""
        email = f"reg-{prefix}-{{n}}@example.org"
        return "application/json", json.dumps({"email": email, "password": PASSWORD})


USERMGMT: Final = System(
    name="usermgmt",
    label="usermgmt",
    database="bench_usermgmt",
    port=18101,
    me_path="/api/auth/me",
    login_path="/api/auth/login",
    register_path="/api/users/register",
    login_form=False,
    offset_path="/api/users/?page=49000&per_page=20",
    cursor_path="/api/users/?cursor={cursor}&per_page=20",
    forgot_path="/api/auth/password/forgot",
)
FASTAPI_USERS: Final = System(
    name="fastapi-users",
    label="fastapi-users",
    database="bench_fastapi_users",
    port=18102,
    me_path="/users/me",
    login_path="/auth/jwt/login",
    register_path="/auth/register",
    login_form=True,
    offset_path=None,  # fastapi-users has no route that lists users
    cursor_path=None,
)
FLASK: Final = System(
    name="flask",
    label="Flask stack",
    database="bench_flask",
    port=18103,
    me_path="/api/auth/me",
    login_path="/api/auth/login",
    register_path="/api/users/register",
    login_form=False,
    offset_path="/api/users/?page=49000&per_page=20",
    cursor_path=None,  # the replaced project had offset pages only
)
SYSTEMS: Final = {s.name: s for s in (USERMGMT, FASTAPI_USERS, FLASK)}


def variant(src: str) -> System:
    """Register and return usermgmt run from the source tree *src* (``src/`` of a checkout).

    For A/B measurements of a change: ``run.py --variant /path/to/checkout/src`` runs it
    as a fourth system, interleaved with the others, on usermgmt's database.
    """
    system = dataclasses.replace(
        USERMGMT, name="usermgmt-variant", label="usermgmt (variant)", port=18104, pythonpath=src
    )
    SYSTEMS[system.name] = system
    return system
