"""Run the benchmark: S1-S5 and S7 against usermgmt and its peers, interleaved, round after round.

    bench/.venvs/tools/bin/python bench/run.py            # the full run (about 35 minutes)
    bench/.venvs/tools/bin/python bench/run.py --quick    # a quick look (about 6 minutes)

Each round starts every system with 1 worker, then every system with 2
workers (A, B, C, A, B, C), and runs S1-S5 against each (S7 where the system
mails password resets); the argon2 bound is
measured at the start of each round, the PostgreSQL floor (pgbench -S) before
the first. Raw results go to ``bench/results/run-<time>.json`` (and
``latest.json``); the table is printed and written next to them.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import load
import measure
import psutil
import report
from prepare import prepare
from systems import BENCH, EMAIL, PASSWORD, SYSTEMS, USERMGMT, VENVS, System, variant

RESULTS = BENCH / "results"
S1_CONNECTIONS = 64
S2_CONNECTIONS = 16
TOKEN_USERS = 16  # S1 cycles through the tokens of users u1..u16 (u1 is the admin)
LOGIN_FIRST, LOGIN_COUNT = 1_001, 50_000  # S2 signs in as u1001, u1002, ...
DEEP = 980_000  # S5: page 49,000 of 20 starts after the 980,000th user
MIDDLE = 500_000  # and page 25,001 after the 500,000th: as far from both ends as it gets


def log(message: str) -> None:
    print(f"[{dt.datetime.now(dt.UTC):%H:%M:%S}] {message}", flush=True)


# --- servers --------------------------------------------------------------------------------


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    """Wait until the server answers HTTP on *port*."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            msg = f"server exited with {proc.returncode} before answering"
            raise RuntimeError(msg)
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=1) as sock,
        ):
            sock.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            if sock.recv(16).startswith(b"HTTP/"):
                return
        time.sleep(0.2)
    msg = f"no answer on port {port} after {timeout:.0f} s"
    raise RuntimeError(msg)


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@contextlib.contextmanager
def serving(system: System, workers: int, logfile: Path) -> Iterator[psutil.Process]:
    """Start *system* with *workers* workers; stop it (its whole process group) afterwards."""
    if not port_free(system.port):
        msg = f"port {system.port} is taken: is an earlier server still running?"
        raise RuntimeError(msg)
    logfile.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(system.mailbox, ignore_errors=True)
    system.mailbox.mkdir(parents=True)
    with logfile.open("wb") as out:
        proc = subprocess.Popen(
            system.command(workers),
            cwd=system.cwd,
            env=system.environment(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_ready(system.port, proc)
            root = psutil.Process(proc.pid)
            deadline = time.monotonic() + 30
            while len(measure.workers(root)) < workers and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(2)  # let every worker finish its start-up
            yield root
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def settle(root: psutil.Process, *, limit: float = 20) -> float:
    """Wait until the server is idle (left-over requests done); return the seconds waited."""
    started = time.monotonic()
    before = measure.tree_cpu_seconds(root)
    while time.monotonic() - started < limit:
        time.sleep(0.5)
        now = measure.tree_cpu_seconds(root)
        if now - before < 0.05:  # under a tenth of a core over the last half second
            break
        before = now
    return time.monotonic() - started


def sign_in(system: System, count: int) -> list[str]:
    """Return access tokens of bulk users 1..*count* (u1 first: the admin)."""

    def one(n: int) -> str:
        kind, body = system.login_body(EMAIL.format(n=n), PASSWORD)
        return load.request_json(system.port, "POST", system.login_path, body, kind)["access_token"]

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, range(1, count + 1)))


# --- scenarios ------------------------------------------------------------------------------


FOREIGN_LIMIT = 0.3  # cores of foreign load that void a measurement
RETRIES = 3


def reads(system: System, tokens: list[str], seconds: float) -> load.Wrk:
    script = load.reads_script(system.me_path, tokens)
    return load.Wrk(system.port, script, connections=S1_CONNECTIONS, seconds=seconds)


def logins(system: System, seconds: float, offset: int) -> load.Wrk:
    kind, template = system.login_template()
    first = LOGIN_FIRST + offset
    script = load.posts_script(system.login_path, kind, template, first, LOGIN_COUNT)
    return load.Wrk(system.port, script, connections=S2_CONNECTIONS, seconds=seconds)


def registrations(system: System, seconds: float, prefix: str) -> load.Wrk:
    kind, template = system.register_template(prefix)
    script = load.posts_script(system.register_path, kind, template, 1, 10**9)
    return load.Wrk(system.port, script, connections=S2_CONNECTIONS, seconds=seconds)


def forgots(system: System, seconds: float) -> load.Wrk:
    """Forgot-password requests for bulk users u1001.. (live accounts: each may get a mail)."""
    assert system.forgot_path is not None  # noqa: S101 - only asked of systems that have one
    script = load.posts_script(
        system.forgot_path, "application/json", '{"email": "u{n}@example.org"}', 1_001, 900_000
    )
    return load.Wrk(system.port, script, connections=S2_CONNECTIONS, seconds=seconds)


def scenario(
    system: System, root: psutil.Process, start: Callable[[int], list[load.Wrk]]
) -> tuple[list[dict[str, float]], dict[str, Any]]:
    """Run the wrk processes that *start* starts, with the CPU they cost; then let it settle.

    The machine may be shared: when other work took more than FOREIGN_LIMIT
    cores meanwhile, the measurement is thrown away and taken again (after the
    machine is quiet), at most RETRIES times; the record says how often.
    """
    for attempt in range(RETRIES + 1):
        window = measure.CpuWindow(root, system.database)
        results = [run.result() for run in start(attempt)]
        cpu = window.stop(sum(r["wrk_cpu_share"] for r in results))
        cpu["settle_s"] = settle(root)
        cpu["repeats"] = attempt
        if cpu["foreign_cores"] <= FOREIGN_LIMIT or attempt == RETRIES:
            return results, cpu
        log(f"    foreign load {cpu['foreign_cores']:.2f} cores: measuring again")
        measure.wait_quiet()
    raise AssertionError  # unreachable: the last attempt returns


def run_system(system: System, workers: int, round_no: int, opts: argparse.Namespace) -> dict:
    """Start *system*, run every scenario against it, stop it; return the measurements."""
    seconds = opts.duration
    tag = f"{opts.run_id}-{system.name}-w{workers}-r{round_no}"
    record: dict[str, Any] = {"system": system.name, "workers": workers, "round": round_no}
    record["background_cores"] = measure.wait_quiet()
    logfile = RESULTS / "logs" / f"{tag}.log"
    with serving(system, workers, logfile) as root:
        procs = measure.workers(root)
        record["worker_pids"] = [p.pid for p in procs]
        record["idle_rss_mib"] = [measure.rss_mib(p) for p in procs]
        tokens = sign_in(system, TOKEN_USERS)
        reads(system, tokens, opts.warmup).result()  # warm-up, not recorded
        settle(root)
        wanted = opts.scenarios
        if "S1" in wanted:
            (s1,), cpu = scenario(system, root, lambda _: [reads(system, tokens, seconds)])
            record["S1"] = s1 | {"cpu": cpu}
        if "S2" in wanted:
            (s2,), cpu = scenario(system, root, lambda _: [logins(system, seconds, 0)])
            record["S2"] = s2 | {"cpu": cpu}
        if "S3" in wanted:
            (s3,), cpu = scenario(
                system,
                root,
                lambda attempt: [registrations(system, seconds, f"{tag}-{attempt}")],
            )
            record["S3"] = s3 | {"cpu": cpu}
        if "S4" in wanted:
            (s4_reads, s4_logins), cpu = scenario(
                system,
                root,
                lambda _: [
                    reads(system, tokens, seconds),
                    logins(system, seconds, LOGIN_COUNT // 2),
                ],
            )
            record["S4"] = {"reads": s4_reads, "logins": s4_logins, "cpu": cpu}
        if "S5" in wanted:
            record["S5"] = deep_pages(system, tokens[0], opts)
        if "S7" in wanted and system.forgot_path:
            (s7_reads, s7_forgots), cpu = scenario(
                system,
                root,
                lambda _: [reads(system, tokens, seconds), forgots(system, seconds)],
            )
            mailed = sum(1 for _ in system.mailbox.glob("*.eml"))
            record["S7"] = {"reads": s7_reads, "forgots": s7_forgots, "mailed": mailed, "cpu": cpu}
        record["peak_rss_mib"] = [measure.peak_rss_mib(p) for p in procs]
    return record


def deep_pages(system: System, admin_token: str, opts: argparse.Namespace) -> dict:
    """S5: offset and cursor pages near the end (980,000 users in) and in the middle."""
    out: dict[str, Any] = {}
    pages: dict[str, str | None] = {}
    if system.offset_path:
        pages["offset"] = system.offset_path
        pages["offset_mid"] = system.offset_path.replace("page=49000", f"page={MIDDLE // 20 + 1}")
    if system.cursor_path:
        pages["cursor"] = system.cursor_path.format(cursor=opts.cursors[DEEP])
        pages["cursor_mid"] = system.cursor_path.format(cursor=opts.cursors[MIDDLE])
    if system.name == "flask":
        pages["offset_by_id"] = "/api/users/by-id/?page=49000&per_page=20"
    for kind, path in pages.items():
        if path is None:
            continue
        out[kind] = load.sequential(
            system.port, path, admin_token, seconds=opts.s5_seconds, at_most=opts.s5_max
        )
    return out


# --- the run --------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    pg = subprocess.run(
        ["psql", USERMGMT.dsn, "-Atc", "SHOW server_version"],
        capture_output=True,
        text=True,
        check=False,
    )
    return {
        "commit": commit(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": wrk.stdout.splitlines()[0] if wrk.stdout else "?",
        "postgresql": pg.stdout.strip(),
        "versions": versions(),
    }


def commit() -> str:
    """Return the checkout's commit, flagged when src/ or sql/ differ from it."""
    head = subprocess.run(
        ["git", "-C", str(BENCH), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(BENCH), "status", "--porcelain", "--", "../src", "../sql"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return head + (" (with uncommitted changes to src/ or sql/)" if dirty else "")


def versions() -> dict[str, dict[str, str]]:
    wanted = {
        "usermgmt": ["usermgmt", "litestar", "uvicorn", "psycopg", "argon2-cffi", "pyjwt"],
        "fastapi-users": [
            *("fastapi-users", "fastapi-users-db-sqlalchemy", "fastapi", "sqlalchemy"),
            *("asyncpg", "uvicorn", "pwdlib", "argon2-cffi", "pyjwt"),
        ],
        "flask": [
            *("flask", "flask-sqlalchemy", "flask-jwt-extended", "sqlalchemy"),
            *("psycopg2-binary", "gunicorn", "argon2-cffi"),
        ],
    }
    found: dict[str, dict[str, str]] = {}
    for venv, names in wanted.items():
        python = VENVS / venv / "bin" / "python"
        code = (
            "import importlib.metadata as m, json, sys\n"
            "print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))"
        )
        done = subprocess.run(
            [str(python), "-c", code, *names], capture_output=True, text=True, check=False
        )
        found[venv] = json.loads(done.stdout) if done.returncode == 0 else {}
    return found


def deep_cursor(depth: int) -> str:
    python = VENVS / "usermgmt" / "bin" / "python"
    done = subprocess.run(
        [str(python), "prepare_usermgmt.py", "cursor", USERMGMT.dsn, str(depth)],
        cwd=BENCH,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def options(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 5-second runs")
    parser.add_argument("--rounds", type=int, help="rounds (default 3; --quick: 1)")
    parser.add_argument("--duration", type=float, help="seconds per scenario (default 15)")
    parser.add_argument("--systems", default="usermgmt,fastapi-users,flask")
    parser.add_argument("--workers", default="1,2", help="worker counts, e.g. 1,2")
    parser.add_argument("--scenarios", default="S1,S2,S3,S4,S5,S7")
    parser.add_argument("--users", type=int, default=1_000_000, help="bulk users per system")
    parser.add_argument("--skip-prepare", action="store_true", help="databases are ready")
    parser.add_argument("--no-pgbench", action="store_true")
    parser.add_argument(
        "--variant", metavar="SRC", help="also run usermgmt from this src/ tree (A/B test)"
    )
    opts = parser.parse_args(argv)
    opts.rounds = opts.rounds or (1 if opts.quick else 3)
    opts.duration = opts.duration or (5.0 if opts.quick else 15.0)
    opts.warmup = 2.0 if opts.quick else 3.0
    opts.s5_seconds = 3.0 if opts.quick else 8.0
    opts.s5_max = 50 if opts.quick else 200
    opts.pgbench_rounds = 1 if opts.quick else 3
    opts.pgbench_seconds = 5 if opts.quick else 10
    opts.systems = [SYSTEMS[name] for name in opts.systems.split(",")]
    if opts.variant:
        opts.systems.insert(1, variant(str(Path(opts.variant).resolve())))
    opts.workers = [int(w) for w in opts.workers.split(",")]
    opts.scenarios = set(opts.scenarios.split(","))
    opts.run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    return opts


def main(argv: list[str] | None = None) -> int:
    opts = options(argv)
    RESULTS.mkdir(exist_ok=True)
    started = time.monotonic()
    if not opts.skip_prepare:
        prepare(opts.systems, opts.users)
    opts.cursors = {}
    if USERMGMT in opts.systems and "S5" in opts.scenarios:
        opts.cursors = {depth: deep_cursor(depth) for depth in (DEEP, MIDDLE)}
    out = RESULTS / f"run-{opts.run_id}.json"
    data: dict[str, Any] = {
        "run_id": opts.run_id,
        "command": " ".join(["bench/run.py", *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine(),
        "config": {
            "rounds": opts.rounds,
            "duration_s": opts.duration,
            "workers": opts.workers,
            "systems": [s.name for s in opts.systems],
            "scenarios": sorted(opts.scenarios),
            "users": opts.users,
            "s1_connections": S1_CONNECTIONS,
            "s2_connections": S2_CONNECTIONS,
            "wrk_timeout": load.WRK_TIMEOUT,
        },
        "pgbench": [],
        "argon2": [],
        "runs": [],
    }

    def save() -> None:
        out.write_text(json.dumps(data, indent=1))
        shutil.copyfile(out, RESULTS / "latest.json")

    if not opts.no_pgbench:
        for _ in range(opts.pgbench_rounds):
            data["pgbench"].append(measure.pgbench_select_only(opts.pgbench_seconds))
            log(f"pgbench -S: {data['pgbench'][-1]['tps']:,.0f} tps")
    for round_no in range(opts.rounds):
        data["argon2"].append(measure.argon2_bound())
        bound = data["argon2"][-1]
        log(
            f"round {round_no + 1}/{opts.rounds}: argon2 verify {bound['cpu_s_per_verify']:.3f}"
            f" CPU-s -> bound {bound['bound_per_s']:.2f}/s"
        )
        for workers in opts.workers:
            for system in opts.systems:
                log(f"  {system.name}, {workers} worker(s)")
                record = run_system(system, workers, round_no, opts)
                data["runs"].append(record)
                log("    " + report.one_line(record))
                save()
    data["elapsed_s"] = time.monotonic() - started
    data["commit_at_end"] = commit()
    if report.source_changed(data["machine"]["commit"], data["commit_at_end"]):
        log(f"usermgmt's source changed during the run: now {data['commit_at_end']}")
    save()
    table = report.markdown(data)
    out.with_suffix(".md").write_text(table)
    print(table)
    log(f"done in {data['elapsed_s'] / 60:.1f} min: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
