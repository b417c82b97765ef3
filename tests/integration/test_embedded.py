"""The zero-set-up default: the embedded PostgreSQL, and the README's example on it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from usermgmt.adapters.embedded import forget_dead_users

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

REGISTER = """
from usermgmt import UserManagement, Settings
from pathlib import Path
import sys
settings = Settings(data_dir=Path(sys.argv[1]), argon2_time_cost=1, argon2_memory_cost=8,
                    argon2_parallelism=1)
with UserManagement.embedded(settings).blocking() as um:
    um.register_user("ann@example.org", "correct horse battery", "Ann")
"""
READ_BACK = """
from usermgmt import UserManagement, Settings, SYSTEM
from pathlib import Path
import sys
settings = Settings(data_dir=Path(sys.argv[1]), argon2_time_cost=1, argon2_memory_cost=8,
                    argon2_parallelism=1)
with UserManagement.embedded(settings).blocking() as um:
    print(um.find_user("ann@example.org", actor=SYSTEM).name)
    um.authenticate("ann@example.org", "correct horse battery")
"""


def _python(
    code: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter, our own code
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_embedded_data_survives_a_restart(tmp_path: Path) -> None:
    """A user registered in one process is there after the server stopped and started again."""
    first = _python(REGISTER, str(tmp_path))
    assert first.returncode == 0, first.stderr

    second = _python(READ_BACK, str(tmp_path))

    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "Ann"
    assert (tmp_path / "pgdata" / "PG_VERSION").exists()
    assert (tmp_path / "jwt-secret").exists()


def test_the_readme_embedding_example_runs_as_written(tmp_path: Path) -> None:
    """The README's ten-line example, run twice on a fresh data directory, prints the user."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Embedding the library", 1)[1]
    example = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert example is not None
    assert len(example[1].strip().splitlines()) <= 10

    runs = [_python(example[1], env={"XDG_DATA_HOME": str(tmp_path)}) for _ in range(2)]

    for run in runs:
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == "cleo@example.org user"


def _dead_pid() -> int:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(child.stdout)


def test_forgetting_dead_users_keeps_live_ones_and_drops_dead_and_reused_ids(
    tmp_path: Path,
) -> None:
    """A dead id goes; a live process that started before the list was written stays."""
    handles = tmp_path / ".handle_pids.json"
    dead = _dead_pid()
    handles.write_text(json.dumps([dead, os.getpid()]))

    dropped = forget_dead_users(tmp_path)

    assert dropped == [dead]
    assert json.loads(handles.read_text()) == [os.getpid()]


def test_an_id_reused_after_the_list_was_written_is_not_a_user(tmp_path: Path) -> None:
    """A process younger than the list cannot have put itself on it: its id was reused."""
    handles = tmp_path / ".handle_pids.json"
    handles.write_text(json.dumps([os.getpid()]))
    os.utime(handles, (1_000_000_000, 1_000_000_000))  # written in 2001, before this process

    dropped = forget_dead_users(tmp_path)

    assert dropped == [os.getpid()]
    assert json.loads(handles.read_text()) == []
