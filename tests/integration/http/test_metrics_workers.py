"""``serve --workers 2`` with metrics: every worker's counts in every scrape, dead ones marked."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest
from prometheus_client.mmap_dict import MmapedDict

from tests.integration.http.server import Served, serving
from tests.integration.http.test_metrics import scrape, value

LIVE = {"method": "GET", "route": "/health/live", "status": "200"}


def _directory(served: Served) -> Path:
    found = re.search(r"the metrics of 2 workers are kept in (\S+)", served.log())
    assert found, served.log()
    return Path(found[1])


def _served_by_pid(directory: Path) -> dict[int, float]:
    """Return, for each worker's counter file, how many ``/health/live`` 200s it counted."""
    counts: dict[int, float] = {}
    for path in directory.glob("counter_*.db"):
        pid = int(path.stem.removeprefix("counter_"))
        for key, count, *_ in MmapedDict.read_all_values_from_file(str(path)):
            _, sample, labels, _ = json.loads(key)  # prometheus-client's key of a value
            if sample == "usermgmt_http_requests_total" and labels == LIVE:
                counts[pid] = counts.get(pid, 0) + count
    return counts


def _hit(base: str, times: int) -> None:
    def one(_: int) -> int:
        return httpx.get(f"{base}/health/live", timeout=10).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(one, range(times))) == {200}


def _totals(base: str, scrapes: int) -> list[float]:
    with httpx.Client(base_url=base, timeout=10) as client:
        return [
            value(scrape(client)[1], "usermgmt_http_requests_total", **LIVE) for _ in range(scrapes)
        ]


def _wait_for(condition: Callable[[], bool], within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def _workers(served: Served) -> set[int]:
    """Return the ids of the server's live worker processes."""
    children = psutil.Process(served.process.pid).children()
    return {c.pid for c in children if c.status() != psutil.STATUS_ZOMBIE}


@pytest.mark.slow
def test_two_workers_add_up_in_every_scrape_and_dead_workers_are_marked(
    empty_database: str, tmp_path: Path
) -> None:
    """40 requests over two workers (one killed midway) are 40 in every one of ten scrapes."""
    env = {"USERMGMT_METRICS": "true", "USERMGMT_DATABASE_URL": empty_database}
    with serving("--workers", "2", env=env, log_dir=tmp_path) as served:
        directory = _directory(served)
        _hit(served.url, 30)
        first = _totals(served.url, 5)
        by_pid = _served_by_pid(directory)
        print(f"served by worker: {by_pid}")  # noqa: T201 - shown with -s: how the work split
        # Kill a worker that counted some: its counts must survive, its live gauges go.
        victim = max(by_pid, key=lambda pid: by_pid[pid])
        before = _workers(served)  # the workers, and multiprocessing's resource tracker
        psutil.Process(victim).kill()
        gone = _wait_for(lambda: not list(directory.glob(f"gauge_live*_{victim}.db")), within=15)
        replaced = _wait_for(
            lambda: victim not in (now := _workers(served)) and len(now) == len(before), within=30
        )
        _hit(served.url, 10)
        second = _totals(served.url, 5)
        after = _served_by_pid(directory)

    assert first == [30] * 5
    assert sum(by_pid.values()) == 30
    assert gone, sorted(p.name for p in directory.glob("*"))
    assert replaced, served.log()
    assert second == [40] * 5
    assert after[victim] == by_pid[victim]
    assert len([pid for pid, count in after.items() if count]) >= 2
    assert not directory.exists()
    assert "Traceback" not in served.log()
