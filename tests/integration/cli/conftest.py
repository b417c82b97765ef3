"""The CLI under test: the real Typer app, configured only through the environment.

Commands run in-process through Typer's ``CliRunner`` with the environment an
operator would set (database URL, cheap argon2, a private data directory);
arranging and checking go through the library, not through the command under
test.
"""

from __future__ import annotations

import os
import sysconfig
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from usermgmt import BlockingUserManagement, Settings, UserManagement
from usermgmt.entrypoints.cli.main import app

PASSWORD = "correct horse battery"
SECRET = "cli-test-signing-secret-of-at-least-32-bytes"


class Cli:
    """Runs ``usermgmt`` commands in-process; a crash fails the test instead of exiting 1."""

    def __init__(self, env: Mapping[str, str | None]) -> None:
        self.env = dict(env)
        self._runner = CliRunner(env=self.env)

    def __call__(
        self, *args: str, stdin: str | None = None, env: Mapping[str, str | None] | None = None
    ) -> Result:
        """Run ``usermgmt *args*`` with *stdin* as its input and *env* over the environment."""
        result = self._runner.invoke(app, list(args), input=stdin, env=env)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result


@pytest.fixture
def cli_env(empty_database: str, tmp_path: Path) -> dict[str, str | None]:
    """The environment of an operator working on the emptied test database."""
    return {
        "USERMGMT_DATABASE_URL": empty_database,
        "USERMGMT_JWT_SECRET": SECRET,
        "USERMGMT_ARGON2_TIME_COST": "1",
        "USERMGMT_ARGON2_MEMORY_COST": "8",
        "USERMGMT_ARGON2_PARALLELISM": "1",
        "USERMGMT_DATA_DIR": str(tmp_path / "data"),
        "USERMGMT_ENV": None,
        "USERMGMT_MIGRATE_ON_START": None,
        "USERMGMT_PASSWORD_MIN_LENGTH": None,
        "USERMGMT_REDIS_URL": None,
    }


@pytest.fixture
def cli(cli_env: dict[str, str | None]) -> Cli:
    """The ``usermgmt`` app, run in-process against the emptied test database."""
    return Cli(cli_env)


@pytest.fixture
def um(empty_database: str, settings: Settings) -> Iterator[BlockingUserManagement]:
    """The library's synchronous facade on the same database, to arrange and to check."""
    with UserManagement.from_url(empty_database, settings).blocking() as facade:
        yield facade


@pytest.fixture
def script() -> Path:
    """The installed ``usermgmt`` console script of this environment."""
    path = Path(sysconfig.get_path("scripts")) / "usermgmt"
    assert path.exists(), f"the usermgmt script is not installed in {path.parent}"
    return path


@pytest.fixture
def process_env(cli_env: dict[str, str | None]) -> dict[str, str]:
    """The environment for a subprocess: this one, with the operator's settings over it."""
    env = {k: v for k, v in os.environ.items() if k not in cli_env}
    env.update({k: v for k, v in cli_env.items() if v is not None})
    return env
