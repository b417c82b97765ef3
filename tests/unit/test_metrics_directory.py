"""``serve``'s metrics directory for several workers: fresh, named to the workers, then gone."""

from __future__ import annotations

import os
import subprocess
import sys

from usermgmt import Settings
from usermgmt.entrypoints.cli.multiproc import VARIABLE, mark_dead_workers, metrics_directory


def test_no_directory_without_metrics_or_with_one_worker() -> None:
    """One worker, or metrics off: no directory, and the environment is left alone."""
    environ: dict[str, str] = {}

    for settings in (Settings(metrics=False, workers=4), Settings(metrics=True, workers=1)):
        with metrics_directory(settings, environ) as directory:
            assert directory is None
            assert environ == {}


def test_several_workers_get_a_fresh_private_directory_removed_at_the_end() -> None:
    """The directory is empty, the user's alone, named in the environment, and removed after."""
    environ: dict[str, str] = {}

    with metrics_directory(Settings(metrics=True, workers=2), environ) as directory:
        assert directory is not None
        assert environ[VARIABLE] == str(directory)
        assert list(directory.iterdir()) == []
        assert directory.stat().st_mode & 0o777 == 0o700
        (directory / "counter_123.db").write_bytes(b"")

    assert VARIABLE not in environ
    assert not directory.exists()


def test_dead_workers_lose_their_live_gauges_and_keep_their_counters() -> None:
    """Only the live gauges of a process that no longer runs are removed."""
    with metrics_directory(Settings(metrics=True, workers=2), {}) as directory:
        assert directory is not None
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        alive = os.getpid()
        for name in (
            f"gauge_livesum_{dead.pid}.db",
            f"gauge_livemax_{dead.pid}.db",
            f"counter_{dead.pid}.db",
            f"gauge_livesum_{alive}.db",
        ):
            (directory / name).write_bytes(b"")

        marked = mark_dead_workers(directory)
        left = sorted(path.name for path in directory.iterdir())

    assert marked == [dead.pid]
    assert left == sorted([f"counter_{dead.pid}.db", f"gauge_livesum_{alive}.db"])
