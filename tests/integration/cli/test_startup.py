"""What a command loads: ``--help`` and ``users list`` start without what only ``serve`` needs.

Each test runs the real command in a fresh interpreter and records, as it
exits, every module it had imported; the assertions are on those modules,
not on time (the figures are in docs/benchmarks.md, from bench/startup.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from usermgmt import BlockingUserManagement

from .conftest import PASSWORD

TIMEOUT = 60.0

# Run the console script's entry point with *args*, and write sys.modules to a file at exit.
_RUN = """
import atexit, json, sys
out, args = sys.argv[1], sys.argv[2:]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv = ["usermgmt", *args]
from usermgmt.entrypoints.cli.main import main
main()
"""

SERVE_ONLY = (
    "litestar",
    "uvicorn",
    "prometheus_client",
    "httptools",
    "usermgmt.entrypoints.http",
)
"""The HTTP stack: ``serve`` and its workers import it, no other command."""

TOKENS_AND_MAIL = (
    "jwt",
    "cryptography",
    "aiosmtplib",
    "usermgmt.adapters.mail",
    "webauthn",
    "segno",
)
"""Loaded on first use: by a command that signs, checks, sends or enrols a second factor."""

CORE = ("usermgmt._service", "usermgmt.adapters", "psycopg", "psycopg_pool", "email_validator")
"""The service, its storage and its drivers: only a command that opens the service needs them."""


def _loaded(env: dict[str, str], tmp_path: Path, *args: str) -> set[str]:
    """Run ``usermgmt *args*`` in a fresh interpreter; return the modules it had imported."""
    out = tmp_path / "modules.json"
    done = subprocess.run(  # noqa: S603 - this interpreter, our own entry point
        [sys.executable, "-c", _RUN, str(out), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(out.read_text()))


def _present(modules: set[str], names: tuple[str, ...]) -> list[str]:
    """Return the modules of *modules* that are one of *names* or inside one."""
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


@pytest.mark.parametrize("args", [["--help"], ["users", "--help"], ["sessions", "list", "--help"]])
def test_help_loads_neither_the_core_nor_the_http_stack(
    process_env: dict[str, str], tmp_path: Path, args: list[str]
) -> None:
    """Help is Typer and the command modules: no driver, no service, no HTTP stack."""
    modules = _loaded(process_env, tmp_path, *args)

    assert "typer" in modules  # the probe saw the command run
    assert _present(modules, SERVE_ONLY + TOKENS_AND_MAIL + CORE) == []


def test_users_list_loads_the_core_but_not_the_http_stack(
    process_env: dict[str, str], tmp_path: Path, um: BlockingUserManagement
) -> None:
    """Listing users opens PostgreSQL and nothing that signs tokens, sends mail or serves HTTP."""
    um.register_user("ann@example.org", PASSWORD)

    modules = _loaded(process_env, tmp_path, "users", "list", "--json")

    assert {"usermgmt._service.facade", "psycopg"} <= modules
    assert _present(modules, SERVE_ONLY + TOKENS_AND_MAIL + ("usermgmt.adapters.memory",)) == []


def test_a_command_that_signs_loads_what_it_needs(
    process_env: dict[str, str], tmp_path: Path
) -> None:
    """``keys generate`` loads cryptography on demand: the probe sees what a command imports."""
    modules = _loaded(process_env, tmp_path, "keys", "generate", str(tmp_path / "signing.pem"))

    assert _present(modules, ("cryptography",))
    assert _present(modules, SERVE_ONLY) == []
