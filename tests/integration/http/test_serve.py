"""``usermgmt serve``: refusing unsafe start-ups, and serving with several workers."""

from __future__ import annotations

import logging
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import httpx
import psutil
import psycopg
import pytest
import typer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from psycopg import conninfo, sql
from typer.testing import CliRunner

from tests.conftest import TEST_SECRET
from tests.integration.http.server import serving, stop
from tests.settings_sample import EVERY_SETTING
from usermgmt import Environment, Settings
from usermgmt.entrypoints.cli import workers
from usermgmt.entrypoints.cli.serve import serve, settings_environment
from usermgmt.settings import DECLARED, LogFormat, as_text

# The command as the CLI registers it, without the rest of the CLI.
SERVE = [
    sys.executable,
    "-c",
    "import typer; from usermgmt.entrypoints.cli.serve import serve; typer.run(serve)",
]


@pytest.fixture
def cli() -> typer.Typer:
    """A Typer app with ``serve`` as its only command."""
    app = typer.Typer()
    app.command("serve")(serve)
    app.command("unused")(lambda: None)  # keeps "serve" a subcommand, as in the real CLI
    return app


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    """Undo the logging set-up that ``serve`` performs, for the tests that follow."""
    names = ("usermgmt", "uvicorn", "uvicorn.access")
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in names)]
    saved = [(lg, lg.handlers[:], lg.level, lg.propagate) for lg in loggers]
    yield
    logging.captureWarnings(capture=False)
    for lg, handlers, level, propagate in saved:
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate = propagate


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--env", "production"], {}),
        ([], {"USERMGMT_ENV": "production"}),
        (["--env", "production", "--jwt-secret", "too-short"], {}),
        (["--env", "production", "--jwt-private-key", "/nonexistent/key.pem"], {}),
    ],
    ids=["flag", "environment", "short-secret", "missing-key-file"],
)
def test_production_mode_without_a_usable_signing_key_refuses_to_start(
    cli: typer.Typer, database_url: str, args: list[str], env: dict[str, str]
) -> None:
    """One clear line on stderr, exit status 1, no traceback, nothing served."""
    environment: dict[str, str | None] = {
        "USERMGMT_JWT_SECRET": None,
        "USERMGMT_JWT_PRIVATE_KEY": None,
        "USERMGMT_DATABASE_URL": database_url,
        **env,
    }

    result = CliRunner().invoke(cli, ["serve", *args], env=environment)

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output + result.stderr
    assert "JWT" in result.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--env", "production"], "production mode needs USERMGMT_MAIL_URL"),
        (["--mail-url", "smtp://u:s3cr3t@mail.example.org/inbox"], "USERMGMT_MAIL_URL="),
        (["--mail-templates", "/nonexistent/templates"], "USERMGMT_MAIL_TEMPLATES="),
    ],
    ids=["production-without-mail-url", "bad-mail-url", "missing-templates"],
)
def test_a_mail_setting_that_cannot_work_stops_serve_in_one_line(
    cli: typer.Typer, database_url: str, args: list[str], says: str
) -> None:
    """No mail URL in production, a bad URL or missing templates: exit 1 before serving."""
    environment: dict[str, str | None] = {
        "USERMGMT_JWT_SECRET": TEST_SECRET,
        "USERMGMT_MAIL_URL": None,
        "USERMGMT_DATABASE_URL": database_url,
    }

    result = CliRunner().invoke(cli, ["serve", *args], env=environment)

    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {says}")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "s3cr3t" not in result.stderr


def test_the_settings_handed_to_workers_are_exactly_the_flags_and_environment() -> None:
    """Every setting survives the trip through the workers' environment."""
    settings = Settings(
        database_url="postgresql://db.example.org/users",
        env=Environment.PRODUCTION,
        jwt_secret="s" * 40,
        access_token_ttl=300,
        refresh_token_ttl=3600,
        password_min_length=15,
        rate_limit_per_minute=0,
        login_max_failures=3,
        login_max_failures_per_account=50,
        refresh_reuse_grace=0,
        cors_origins=("https://a.example.org", "https://b.example.org"),
        redis_url="redis://cache.example.org:6379/2",
        migrate_on_start=False,
        data_dir=Path("/srv/usermgmt"),
        host="0.0.0.0",  # noqa: S104 - a value under test, not a bind
        port=9000,
        workers=4,
        metrics=True,
        log_format=LogFormat.JSON,
        trusted_proxies=("10.0.0.0/8", "2001:db8::/32"),
    )

    environment = settings_environment(settings)

    assert Settings.from_env(environment) == settings
    assert all(name.startswith("USERMGMT_") for name in environment)


def test_serve_help_lists_a_flag_for_every_setting_and_no_other() -> None:
    """``usermgmt serve --help`` shows each declared flag (both forms of a switch), and --help."""
    from usermgmt.entrypoints.cli.main import app  # noqa: PLC0415 - the real root command

    result = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "250"})

    assert result.exit_code == 0
    shown = set(re.findall(r"(?<![\w-])--[a-z0-9][a-z0-9-]*", result.output))
    declared = {flag for d in DECLARED for flag in d.flag.split("/")}
    assert shown == {*declared, "--help"}


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, object]]]:
    """Record what ``serve`` hands to uvicorn (its arguments and the workers' environment)."""
    calls: list[dict[str, object]] = []

    def run(_app: str, **kwargs: object) -> None:
        workers_env = {k: v for k, v in os.environ.items() if k.startswith("USERMGMT_")}
        calls.append({"environment": workers_env, **kwargs})

    monkeypatch.setattr(workers, "run", run)  # takes uvicorn.run's arguments, one worker or more
    sigterm = signal.getsignal(signal.SIGTERM)
    try:
        yield calls
    finally:
        signal.signal(signal.SIGTERM, sigterm)


def test_every_flag_reaches_the_settings_of_the_workers(
    cli: typer.Typer, started: list[dict[str, object]]
) -> None:
    """Each setting given as its flag, and none in the environment: the workers get them all."""
    # A secret and a key file together are refused: the key file's flag is left out. The
    # templates directory must exist at start-up, and the sample's does not: left out too.
    given = attrs.evolve(EVERY_SETTING, jwt_private_key=None, mail_templates=None)
    args = []
    for declared in DECLARED:
        value = getattr(given, declared.name)
        if value is None:
            continue
        if declared.switch:
            args.append(declared.flag.split("/")[0 if value else 1])
        else:
            args += [declared.flag, as_text(value)]
    nothing_set: dict[str, str | None] = {d.variable: None for d in DECLARED}

    result = CliRunner().invoke(cli, ["serve", *args], env=nothing_set)

    assert result.exit_code == 0, result.output
    [call] = started
    assert Settings.from_env(call["environment"]) == given  # type: ignore[arg-type]
    assert (call["host"], call["port"], call["workers"]) == ("0.0.0.0", 9000, 4)  # noqa: S104


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "0"], "Invalid value for '--port': must be a positive whole number"),
        (["--port", "65536"], "Invalid value for '--port': must be a port number"),
        (["--argon2-time-cost", "fast"], "Invalid value for '--argon2-time-cost': must be a whole"),
        (["--env", "staging"], "Invalid value for '--env'"),
        (["--trusted-proxies", "10.0.0.1/8"], "Invalid value for '--trusted-proxies'"),
    ],
)
def test_a_malformed_flag_is_a_usage_error_that_names_it(
    cli: typer.Typer, started: list[dict[str, object]], args: list[str], message: str
) -> None:
    """The flag's parser is its variable's: a wrong value ends serve with status 2, unserved."""
    result = CliRunner().invoke(cli, ["serve", *args], env={"COLUMNS": "250"})

    assert result.exit_code == 2
    assert message in result.output
    assert started == []


def test_a_flag_of_a_setting_that_had_none_is_checked_like_its_variable(
    cli: typer.Typer, started: list[dict[str, object]]
) -> None:
    """The argon2 flags are new, and the start-up check sees them: too little memory is refused."""
    args = ["--argon2-parallelism", "4", "--argon2-memory-cost", "8"]

    result = CliRunner().invoke(cli, ["serve", *args], env={"USERMGMT_ARGON2_MEMORY_COST": None})

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: USERMGMT_ARGON2_MEMORY_COST must be at least 8 KiB per lane of parallelism\n"
    )
    assert started == []


def _wait_healthy(base: str, seconds: float = 30) -> bool:
    """Wait until the server at *base* answers ``/health`` with 200; return whether it did."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return True
        except httpx.TransportError:
            time.sleep(0.2)
    return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.slow
def test_serve_runs_several_workers_that_share_flags_and_rate_limit(
    empty_database: str, tmp_path: Path
) -> None:
    """Two workers get the same flags and count one client's requests together."""
    with psycopg.connect(empty_database, autocommit=True) as conn:
        conn.execute("DELETE FROM key_value_store")
    port = _free_port()
    env = {
        **os.environ,
        "USERMGMT_JWT_SECRET": TEST_SECRET,
        "USERMGMT_DATA_DIR": str(tmp_path),
        "USERMGMT_RATE_LIMIT_PER_MINUTE": "1000",  # the flag below must win
    }
    command = [
        *SERVE,
        *("--port", str(port), "--workers", "2", "--rate-limit-per-minute", "3"),
        *("--database-url", empty_database),
    ]
    server = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)  # noqa: S603
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base)
        statuses = [
            httpx.post(f"{base}/api/auth/refresh", json={"refresh_token": "x"}).status_code
            for _ in range(4)
        ]
    finally:
        server.send_signal(signal.SIGINT)
        _, log = server.communicate(timeout=20)

    assert statuses == [401, 401, 401, 429]
    assert "POST /api/auth/refresh 429" in log
    assert "Traceback" not in log


def _imported(log: str, name: str) -> int:
    """Return how many processes imported module *name*, by ``-X importtime``'s lines in *log*."""
    return len(re.findall(rf"^import time: +\d+ \| +\d+ \| +{re.escape(name)}$", log, re.MULTILINE))


@pytest.mark.slow
def test_workers_load_neither_the_cli_nor_cryptography(empty_database: str, tmp_path: Path) -> None:
    """The real ``usermgmt`` script with two workers and an HS256 secret.

    The workers spawned by uvicorn import the application, not the CLI's
    script (typer, click and every command), nobody loads rich for tables
    that serve never prints, and PyJWT goes without cryptography; tokens
    are signed and checked all the same.
    """
    script = Path(sys.executable).with_name("usermgmt")
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPROFILEIMPORTTIME": "1",  # each process lists its imports on stderr
        "USERMGMT_JWT_SECRET": TEST_SECRET,
        "USERMGMT_DATA_DIR": str(tmp_path),
        "USERMGMT_MAIL_URL": "disabled",
    }
    command = [str(script), "serve", "--port", str(port), "--workers", "2"]
    command += ["--database-url", empty_database]
    stderr = tmp_path / "stderr.log"  # a file, not a pipe: the import lists would fill a pipe
    with stderr.open("w") as sink:
        server = subprocess.Popen(command, env=env, stderr=sink)  # noqa: S603
    base = f"http://127.0.0.1:{port}"
    credentials = {"email": "worker@example.org", "password": "correct horse battery staple"}
    try:
        _wait_healthy(base)
        registered = httpx.post(f"{base}/api/users/register", json=credentials, timeout=10)
        login = httpx.post(f"{base}/api/auth/login", json=credentials, timeout=10)
        token = login.json().get("access_token", "none")
        me = [  # new connections: both workers, most likely, check the token
            httpx.get(f"{base}/api/auth/me", headers={"Authorization": f"Bearer {token}"})
            for _ in range(4)
        ]
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=20)
    log = stderr.read_text()

    assert (registered.status_code, login.status_code) == (201, 200), login.text
    assert [response.status_code for response in me] == [200] * 4
    assert _imported(log, "usermgmt.entrypoints.http.app") == 3  # serve itself and two workers
    assert _imported(log, "typer") == 1  # serve itself only
    assert _imported(log, "rich") == 0  # it prints no table
    assert _imported(log, "cryptography.hazmat.bindings._rust") == 0
    assert "Traceback" not in log


def test_the_usermgmt_command_runs_serve(database_url: str) -> None:
    """``usermgmt serve`` is the command above, registered in the real CLI."""
    from usermgmt.entrypoints.cli.main import app  # noqa: PLC0415 - the real root command

    result = CliRunner().invoke(
        app,
        ["serve", "--env", "production"],
        env={"USERMGMT_JWT_SECRET": None, "USERMGMT_DATABASE_URL": database_url},
    )

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: production mode needs a signing key")


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_stops_serve_and_its_embedded_database(tmp_path: Path, workers: int) -> None:
    """Without a database URL, SIGTERM ends serve and the embedded server it started."""
    port = _free_port()
    env = {**os.environ, "USERMGMT_JWT_SECRET": TEST_SECRET, "USERMGMT_DATA_DIR": str(tmp_path)}
    env.pop("USERMGMT_DATABASE_URL", None)
    command = [*SERVE, "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)  # noqa: S603
    try:
        healthy = _wait_healthy(f"http://127.0.0.1:{port}", seconds=60)
        postmaster = tmp_path / "pgdata" / "postmaster.pid"
        running_while_serving = postmaster.exists()
    finally:
        server.send_signal(signal.SIGTERM)
        _, log = server.communicate(timeout=30)

    assert healthy, log
    assert running_while_serving
    assert not postmaster.exists(), log  # PostgreSQL removes it when it shuts down
    assert "Traceback" not in log


@pytest.mark.parametrize("kind", ["encrypted", "malformed"])
def test_an_unusable_signing_key_stops_serve_with_one_line(
    cli: typer.Typer, database_url: str, tmp_path: Path, kind: str
) -> None:
    """An encrypted or malformed PEM key: one error line, exit 1, no traceback, nothing served."""
    key = tmp_path / "key.pem"
    if kind == "encrypted":
        key.write_bytes(
            Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"passphrase"),
            )
        )
    else:
        key.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    environment = {
        "USERMGMT_JWT_SECRET": None,
        "USERMGMT_JWT_PRIVATE_KEY": str(key),
        "USERMGMT_DATABASE_URL": database_url,
        "USERMGMT_DATA_DIR": str(tmp_path),
    }

    result = CliRunner().invoke(cli, ["serve"], env=environment)

    assert isinstance(result.exception, SystemExit), result.exception  # not a crash
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: USERMGMT_JWT_PRIVATE_KEY={key}: ")
    assert len(result.stderr.strip().splitlines()) == 1


def _postgres_of(pgdata: Path) -> list[psutil.Process]:
    """Return the running PostgreSQL processes whose data directory is *pgdata*."""
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if process.info["name"] == "postgres" and str(pgdata) in " ".join(cmdline):
            found.append(process)
    return found


@pytest.mark.slow
def test_after_serve_was_killed_the_next_serve_stops_the_embedded_database(
    tmp_path: Path,
) -> None:
    """Kill -9 leaves PostgreSQL up; the next serve reuses it, keeps the data, and stops it."""
    pgdata = (tmp_path / "pgdata").resolve()
    env: dict[str, str | None] = {"USERMGMT_DATA_DIR": str(tmp_path), "USERMGMT_DATABASE_URL": None}
    user = {"email": "ann@example.org", "password": "correct horse battery staple"}
    try:
        with serving(env=env, log_dir=tmp_path) as first:
            registered = httpx.post(f"{first.url}/api/users/register", json=user, timeout=10)
            first.process.kill()  # SIGKILL: no exit handler runs
            first.process.wait(timeout=30)
        left_running = _postgres_of(pgdata)

        with serving(env=env, log_dir=tmp_path) as second:
            login = httpx.post(f"{second.url}/api/auth/login", json=user, timeout=10)
            status = stop(second, signal.SIGINT)
            log = second.log()
        remaining = _postgres_of(pgdata)
    finally:
        for process in _postgres_of(pgdata):  # only the server this test started
            process.terminate()

    assert registered.status_code == 201
    assert left_running, "PostgreSQL should outlive a killed serve"
    assert login.status_code == 200, login.text  # the data survived
    assert status == 0, log
    assert remaining == []
    assert not (pgdata / "postmaster.pid").exists()
    assert "Traceback" not in log


FORMATTED = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR) \S+: ")


@pytest.mark.slow
def test_a_connection_pool_warning_is_logged_in_the_service_format(
    database_url: str, tmp_path: Path
) -> None:
    """Every slot of the database role is taken: psycopg-pool's warning comes out formatted."""
    role = f"usermgmt_pressure_{secrets.token_hex(4)}"
    admin = psycopg.connect(database_url, autocommit=True)
    admin.execute(sql.SQL("CREATE ROLE {} LOGIN CONNECTION LIMIT 1").format(sql.Identifier(role)))
    role_url = conninfo.make_conninfo(database_url, user=role)
    try:
        with (
            psycopg.connect(role_url),
            serving(  # that connection takes the role's only slot
                "--database-url", role_url, "--no-migrate", env={}, log_dir=tmp_path
            ) as server,
        ):
            deadline = time.monotonic() + 15
            while "psycopg.pool" not in server.log() and time.monotonic() < deadline:
                time.sleep(0.2)
            log = server.log()
    finally:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,)
        )
        admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
        admin.close()

    lines = [line for line in log.splitlines() if line.strip()]
    pool_lines = [line for line in lines if " psycopg.pool: " in line]
    assert pool_lines, log
    assert all(FORMATTED.match(line) for line in pool_lines), pool_lines
    assert any("WARNING psycopg.pool: error connecting" in line for line in pool_lines)
    assert not [line for line in lines if line.startswith("error connecting")], log
