"""What the machine spent: server processes, memory, the argon2 bound, the PostgreSQL floor."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import time
from pathlib import Path
from typing import Final

import argon2
import psutil
from prepare import PGBENCH_DB
from systems import PASSWORD, PG

CORES: Final = os.cpu_count() or 1
_TICKS: Final = os.sysconf("SC_CLK_TCK")


def workers(root: psutil.Process) -> list[psutil.Process]:
    """Return the processes of a server that serve requests.

    A single process serves by itself; under a supervisor (gunicorn's master,
    uvicorn's ``--workers``) the workers are the leaves of the tree, less
    multiprocessing's helper processes.
    """
    tree = [root, *root.children(recursive=True)]
    if len(tree) == 1:
        return tree
    leaves = []
    for proc in tree[1:]:
        try:
            if proc.children():
                continue
            if any("resource_tracker" in part for part in proc.cmdline()):
                continue
        except psutil.NoSuchProcess:
            continue
        leaves.append(proc)
    return leaves


def peak_rss_mib(proc: psutil.Process) -> float:
    """Return the high-water mark of *proc*'s resident memory (VmHWM), in MiB."""
    status = Path(f"/proc/{proc.pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else float("nan")


def rss_mib(proc: psutil.Process) -> float:
    """Return *proc*'s resident memory now, in MiB."""
    return proc.memory_info().rss / 2**20


def _cpu(proc: psutil.Process) -> float:
    try:
        times = proc.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return times.user + times.system


def tree_cpu_seconds(root: psutil.Process) -> float:
    """Return the CPU seconds used so far by *root* and every process under it."""
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def machine_busy_seconds() -> float:
    """Return the CPU seconds the whole machine has spent busy since boot (all cores)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in fields[:8]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / _TICKS


def interrupt_seconds() -> float:
    """Return the CPU seconds spent in interrupts since boot (loopback traffic lands here)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    return (int(fields[5]) + int(fields[6])) / _TICKS  # irq + softirq


def backends_cpu_seconds(database: str) -> dict[int, float]:
    """Return the CPU seconds of each PostgreSQL backend connected to *database*, by pid."""
    found = {}
    for proc in psutil.process_iter(["name", "cmdline", "cpu_times"]):
        info = proc.info
        if info["name"] != "postgres" or not info["cmdline"] or info["cpu_times"] is None:
            continue
        title = " ".join(info["cmdline"])  # "postgres: 15/main: postgres DATABASE 127.0.0.1(...)"
        if f" {database} " in title:
            found[proc.pid] = info["cpu_times"].user + info["cpu_times"].system
    return found


class CpuWindow:
    """CPU used by the server, its PostgreSQL backends, and the whole machine, over a scenario."""

    def __init__(self, server: psutil.Process, database: str) -> None:
        """Start counting."""
        self._server = server
        self._database = database
        self._started = time.monotonic()
        self._server0 = tree_cpu_seconds(server)
        self._workers = workers(server)
        self._workers0 = [_cpu(p) for p in self._workers]
        self._backends0 = backends_cpu_seconds(database)
        self._machine0 = machine_busy_seconds()
        self._interrupts0 = interrupt_seconds()

    def stop(self, load_generator_share: float) -> dict[str, float]:
        """Return cores used by the server, PostgreSQL, the load generator, and the rest.

        "Other" is the kernel's interrupt work that no process is charged for
        (loopback traffic), and anything else that ran on the machine meanwhile;
        "foreign" is the latter alone.
        """
        wall = time.monotonic() - self._started
        server = (tree_cpu_seconds(self._server) - self._server0) / wall
        backends = backends_cpu_seconds(self._database)
        postgres = sum(cpu - self._backends0.get(pid, 0.0) for pid, cpu in backends.items()) / wall
        machine = (machine_busy_seconds() - self._machine0) / wall
        interrupts = (interrupt_seconds() - self._interrupts0) / wall
        ours = server + postgres + load_generator_share
        per_worker = [
            (_cpu(p) - c0) / wall for p, c0 in zip(self._workers, self._workers0, strict=True)
        ]
        return {
            "server_cores": server,
            "worker_cores": per_worker,
            "postgres_cores": postgres,
            "wrk_cores": load_generator_share,
            "interrupt_cores": interrupts,
            "other_cores": max(0.0, machine - ours),
            "foreign_cores": max(0.0, machine - ours - interrupts),
            "machine_cores": machine,
        }


def background_cores(seconds: float = 2.0) -> float:
    """Return the cores the machine keeps busy with none of our servers running."""
    before, started = machine_busy_seconds(), time.monotonic()
    time.sleep(seconds)
    return (machine_busy_seconds() - before) / (time.monotonic() - started)


def wait_quiet(threshold: float = 0.2, limit: float = 90) -> float:
    """Wait (at most *limit* seconds) until the machine is idle; return the last busy cores.

    The machine may be shared with other work: starting a measurement while
    something else runs would charge its load to the system under test.
    """
    deadline = time.monotonic() + limit
    busy = background_cores()
    while busy > threshold and time.monotonic() < deadline:
        busy = background_cores()
    return busy


def argon2_bound(verifies: int = 8) -> dict[str, float]:
    """Measure one verify at argon2-cffi's defaults; return the logins/s bound for this machine.

    The bound is cores / CPU seconds per verify: the most verifications the
    cores could finish per second if they did nothing else.
    """
    hasher = argon2.PasswordHasher()
    encoded = hasher.hash(PASSWORD)
    hasher.verify(encoded, PASSWORD)  # warm
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(verifies):
        hasher.verify(encoded, PASSWORD)
    cpu = (time.process_time() - cpu0) / verifies
    wall = (time.perf_counter() - wall0) / verifies
    return {
        "cpu_s_per_verify": cpu,
        "wall_s_per_verify": wall,
        "bound_per_s": CORES / cpu,
        "cores": CORES,
        "time_cost": hasher.time_cost,
        "memory_cost_kib": hasher.memory_cost,
        "parallelism": hasher.parallelism,
    }


PGBENCH_CLIENTS: Final = 16


def pgbench_select_only(seconds: int) -> dict[str, float | str]:
    """Run ``pgbench -S`` (indexed primary-key selects) and return transactions/s."""
    command = [
        *("pgbench", "-S", "-M", "prepared", "-n", "-c", str(PGBENCH_CLIENTS), "-j", "2"),
        *("-T", str(seconds), f"{PG}/{PGBENCH_DB}"),
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    match = re.search(r"tps = ([\d.]+)", output)
    if match is None:
        msg = f"pgbench printed no tps: {output}"
        raise RuntimeError(msg)
    return {"tps": float(match.group(1)), "command": " ".join(command)}


def median(values: list[float]) -> float:
    """Return the median of *values* (NaN when empty)."""
    return statistics.median(values) if values else float("nan")
