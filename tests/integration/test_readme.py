"""The README followed as a newcomer follows it: every block in order, on one fresh machine.

One data directory (the embedded PostgreSQL and the development secret live
there), one running ``usermgmt serve`` on it, then the HTTP API's curl block,
the password recovery block at a terminal (the token is copied from serve's
log, where the console mailer writes the mail), the administering block at a
real terminal (it asks for a password), and the embedding example — each as
written, but for the port.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.http.server import Served, serving
from tests.terminal import Terminal

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # where the virtualenv's ``usermgmt`` script is
ADMIN_PASSWORD = "an administrator's own long passphrase"

pytestmark = pytest.mark.slow


def _blocks(section: str, language: str) -> list[str]:
    """Return the code blocks in *language* under the README heading *section*."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    body = readme.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", body, re.DOTALL)


def _reset_token(server: Served, timeout: float = 30) -> str:
    """Wait for the console mailer to log a reset link; return its token, as a reader copies it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"/reset-password#token=([A-Za-z0-9_-]+)", server.log())
        if found:
            return found[1]
        time.sleep(0.1)
    pytest.fail(f"no reset link in the log:\n{server.log()}")


def test_the_readme_blocks_work_in_order_on_one_machine(tmp_path: Path) -> None:
    """Curl block, administering block and embedding example share one embedded database."""
    home = tmp_path / "home"
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    }
    for name in ("USERMGMT_DATABASE_URL", "USERMGMT_JWT_SECRET", "USERMGMT_DATA_DIR"):
        env.pop(name, None)
    (curl,) = _blocks("The HTTP API", "sh")
    (recovery,) = _blocks("Recovering a password", "sh")
    (administering,) = _blocks("Administering", "sh")
    (embedding,) = _blocks("Embedding the library", "python")

    with serving(env={**env, "USERMGMT_JWT_SECRET": None}, log_dir=tmp_path) as server:
        api = subprocess.run(  # noqa: S603 - the README's own block
            ["/bin/bash", "-euo", "pipefail", "-c", curl.replace("localhost:8000", server.url)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert api.returncode == 0, api.stdout + api.stderr
        assert "/problems/" not in api.stdout, api.stdout
        assert api.stdout.splitlines()[-1] == "204"

        recover = recovery.replace("localhost:8000", server.url)
        terminal = Terminal(["/bin/bash", "-euo", "pipefail", "-c", recover], env)
        terminal.expect("Token from the mail: ")
        terminal.type(_reset_token(server))
        assert terminal.finish() == 0, terminal.screen
        assert terminal.screen.split()[-2:] == ["204", "200"], terminal.screen

        script = administering.replace("source .venv/bin/activate", ":")
        terminal = Terminal(["/bin/bash", "-euo", "pipefail", "-c", script], env)
        terminal.expect("Password: ")
        terminal.type(ADMIN_PASSWORD)
        terminal.expect("Repeat for confirmation: ")
        terminal.type(ADMIN_PASSWORD)
        assert terminal.finish() == 0, terminal.screen
        assert "Error" not in terminal.screen, terminal.screen

        for _ in range(2):  # the example cleans up after itself: it runs again
            embedded = subprocess.run(  # noqa: S603 - the README's own example
                [sys.executable, "-c", embedding],
                capture_output=True,
                text=True,
                env=env,
                timeout=120,
                check=False,
            )
            assert embedded.returncode == 0, embedded.stderr
            assert embedded.stdout.strip() == "cleo@example.org user"
