"""The metrics' shared directory when ``serve`` runs several workers.

prometheus-client's multiprocess mode keeps each process's values in files
of the directory named by ``PROMETHEUS_MULTIPROC_DIR``, which must be set
before the workers start and must not hold files of an earlier run (their
counts would be added to this run's). So ``serve`` makes a fresh private
directory for each run, removes it when it ends, and meanwhile marks the
workers that died (their live gauges, such as the pool's connections, stop
counting; their counters are kept, since what they counted did happen).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Final

from usermgmt import Settings

log = logging.getLogger("usermgmt.metrics")

VARIABLE: Final = "PROMETHEUS_MULTIPROC_DIR"
REAP_INTERVAL: Final = 2.0
"""Seconds between two looks for workers that died."""

# prometheus-client's files of live gauges: gauge_livesum_<pid>.db, gauge_livemax_<pid>.db, ...
_LIVE_FILE: Final = re.compile(r"gauge_live[a-z]+_(?P<pid>\d+)\.db")


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process has that id now
        return True
    return True


def mark_dead_workers(directory: Path) -> list[int]:
    """Mark every process with live gauges in *directory* that no longer runs; return their ids."""
    from prometheus_client import multiprocess  # noqa: PLC0415 - only with metrics and workers

    dead = sorted(
        {
            int(match["pid"])
            for entry in directory.iterdir()
            if (match := _LIVE_FILE.fullmatch(entry.name))
        }
    )
    dead = [pid for pid in dead if not _running(pid)]
    for pid in dead:
        multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call] # untyped upstream
    return dead


@contextlib.contextmanager
def metrics_directory(
    settings: Settings, environ: MutableMapping[str, str]
) -> Iterator[Path | None]:
    """Give the workers a fresh metrics directory, if metrics are on and there are several.

    The directory (private to this user, under the system's temporary
    directory) is named in *environ* for the workers to inherit; dead workers
    are marked every few seconds; at the end the directory is removed and the
    variable unset. Yields the directory, or ``None`` when none is needed.
    """
    if not (settings.metrics and settings.workers > 1):
        yield None
        return
    directory = Path(tempfile.mkdtemp(prefix="usermgmt-metrics-"))
    environ[VARIABLE] = str(directory)
    log.info("the metrics of %d workers are kept in %s", settings.workers, directory)
    done = threading.Event()

    def reap() -> None:
        while not done.wait(REAP_INTERVAL):
            with contextlib.suppress(OSError):  # a file that went away meanwhile
                mark_dead_workers(directory)

    reaper = threading.Thread(target=reap, name="usermgmt-metrics-reaper", daemon=True)
    reaper.start()
    try:
        yield directory
    finally:
        done.set()
        reaper.join(timeout=REAP_INTERVAL + 1)
        environ.pop(VARIABLE, None)
        shutil.rmtree(directory, ignore_errors=True)
