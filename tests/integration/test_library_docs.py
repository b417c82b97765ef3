"""docs/library.md followed as an embedder follows it: every ``python`` block, as written.

The blocks run in order on one fresh database (unmigrated: the service
migrates it when it opens), which stands in for the page's
``postgresql://app@db/app``. A block that defines tests is an embedder's test
module and runs under pytest; any other block is a program that must exit 0,
and one whose ``print(...)`` calls say what they print (a ``# comment`` after
each) must print exactly those lines.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER_URL = "postgresql://app@db/app"

pytestmark = pytest.mark.slow


def _blocks() -> list[str]:
    """Return the page's python blocks, in order."""
    page = (ROOT / "docs" / "library.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", page, re.DOTALL)


def _printed(block: str) -> list[str]:
    """Return what *block* says it prints: the comments after its ``print(...)`` calls."""
    return re.findall(r"^\s*print\(.*\)  # (.*)$", block, re.MULTILINE)


def test_the_page_has_programs_and_a_test_module() -> None:
    """The page shows both programs to run and tests to copy, so both paths below are taken."""
    blocks = _blocks()

    assert any("def test_" in block for block in blocks)
    assert any(PLACEHOLDER_URL in block and _printed(block) for block in blocks)


def test_every_block_of_the_library_page_runs_as_written(
    fresh_database: str, tmp_path: Path
) -> None:
    """Each program exits 0 printing what it says it prints; each test module passes."""
    for number, block in enumerate(_blocks(), start=1):
        if "def test_" in block:
            module = tmp_path / f"test_library_block_{number}.py"
            module.write_text(block, encoding="utf-8")
            tests = len(re.findall(r"^(?:async )?def test_", block, re.MULTILINE))
            command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", module.name]
            expected = [f"{tests} passed"]
        else:
            program = block.replace(PLACEHOLDER_URL, fresh_database)
            command = [sys.executable, "-c", program]
            expected = _printed(block)

        run = subprocess.run(  # noqa: S603 - the page's own block
            command, capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False
        )

        assert run.returncode == 0, f"block {number}:\n{block}\n{run.stdout}{run.stderr}"
        if "def test_" in block:
            assert expected[0] in run.stdout, f"block {number}: {run.stdout}"
        elif expected:
            assert run.stdout.splitlines() == expected, f"block {number}: {run.stdout}"
