"""Profile one system (1 worker) under S1 and under S4, and summarise where the time went.

    bench/.venvs/tools/bin/python bench/profile.py [--seconds 20] [--system usermgmt]

For each scenario, wrk drives the server while ``py-spy record`` samples the
worker process (every thread, 100 samples/s; for S1 only samples holding the
GIL, i.e. Python actually running) into collapsed stacks:
``bench/results/profile-<system>-<scenario>.txt``. Then, where ``perf`` works,
``perf record`` samples the same process on-CPU to split its time between the
interpreter, the kernel and native libraries (py-spy cannot see that split).
The summary (printed, and written next to the stacks as ``.md``) gives the
share of samples by component (the package of the innermost frame) and the
hottest functions, self and inclusive, per thread group.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import time
from pathlib import Path

import measure
import run
from systems import SYSTEMS, VENVS, System

RESULTS = run.RESULTS
PY_SPY = VENVS / "tools" / "bin" / "py-spy"
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]+)(?::\d+)?\)$")

COMPONENTS = [  # (name, path fragment): the first match names a frame's component
    ("usermgmt: HTTP face", "usermgmt/entrypoints/"),
    ("usermgmt: domain", "usermgmt/domain/"),
    ("usermgmt: PostgreSQL adapters", "usermgmt/adapters/postgres/"),
    ("usermgmt: token codec", "usermgmt/adapters/tokens"),
    ("usermgmt: password hasher", "usermgmt/adapters/passwords"),
    ("usermgmt: other", "usermgmt/"),
    ("argon2 (C, in worker threads)", "argon2/"),
    ("PyJWT", "/jwt/"),
    ("cryptography / hmac / hashlib", "hmac.py"),
    ("psycopg / psycopg_pool", "psycopg"),
    ("asyncpg", "asyncpg/"),
    ("SQLAlchemy", "sqlalchemy/"),
    ("Litestar", "litestar/"),
    ("FastAPI / Starlette / pydantic", "fastapi/"),
    ("FastAPI / Starlette / pydantic", "starlette/"),
    ("FastAPI / Starlette / pydantic", "pydantic"),
    ("msgspec", "msgspec/"),
    ("uvicorn / httptools", "uvicorn/"),
    ("uvicorn / httptools", "httptools/"),
    ("anyio (thread hand-off)", "anyio/"),
    ("logging", "logging/"),
    ("asyncio event loop", "asyncio/"),
    ("uvloop", "uvloop/"),
    ("threading (worker threads idle/hand-off)", "threading.py"),
    ("concurrent.futures", "concurrent/"),
    ("attrs", "attr"),
    ("datetime / uuid / json", "uuid.py"),
    ("datetime / uuid / json", "json/"),
    ("datetime / uuid / json", "_strptime"),
]


def component(frame: str) -> str:
    match = _FRAME.match(frame)
    path = match.group("file") if match else frame
    for name, fragment in COMPONENTS:
        if fragment in path:
            return name
    return "other (stdlib, native)"


def short(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    path = match.group("file")
    for marker in ("site-packages/", "/src/", "/lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match.group('func')} ({path})"


def _thread_group(head: str) -> str:
    if "MainThread" in head:
        return "event-loop thread"
    if "worker" in head.lower():
        return "worker threads"
    return "other threads"


def _idle(frames: list[str]) -> bool:
    """A worker thread waiting for work (py-spy cannot always tell it is idle)."""
    return any(
        f.startswith(("Condition.wait (threading.py", "Queue.get (queue.py")) for f in frames
    )


def _table(title: str, rows: list[tuple[str, int]], total: int, *, code: bool) -> list[str]:
    lines = ["", f"| {title} | Share |", "|---|---|"]
    for name, n in rows:
        shown = f"`{name}`" if code else name
        lines.append(f"| {shown} | {n / total:.1%} |")
    return lines


def summarise(collapsed: Path, top: int = 20) -> str:
    """Return a Markdown summary of py-spy's collapsed stacks (recorded with ``--threads``)."""
    groups: dict[str, dict[str, collections.Counter[str]]] = {}
    totals: collections.Counter[str] = collections.Counter()
    idle: collections.Counter[str] = collections.Counter()
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        head, _, rest = stack.partition(";")
        group = _thread_group(head)
        frames = [f for f in rest.split(";") if f]
        if not frames:
            continue
        if _idle(frames):
            idle[group] += count
            continue
        totals[group] += count
        counters = groups.setdefault(
            group, {k: collections.Counter() for k in ("component", "self", "inclusive")}
        )
        counters["component"][component(frames[-1])] += count
        counters["self"][short(frames[-1])] += count
        for frame in {short(f) for f in frames}:
            counters["inclusive"][frame] += count
    lines: list[str] = []
    for group, counters in sorted(groups.items(), key=lambda g: -totals[g[0]]):
        total = totals[group]
        lines.append(f"\n### {group}: {total:,} samples\n")
        lines += _table(
            "Component (innermost frame)", counters["component"].most_common(), total, code=False
        )
        lines += _table(
            "Hottest functions (self)", counters["self"].most_common(top), total, code=True
        )
        # Leave out the frames every sample passes through (the start-up chain).
        inner = [(f, n) for f, n in counters["inclusive"].most_common() if n < 0.9 * total]
        lines += _table("Hottest functions (inclusive)", inner[:top], total, code=True)
    if idle:
        waiting = ", ".join(f"{g}: {n:,}" for g, n in idle.items())
        lines.append(f"\nIdle samples left out (threads waiting for work): {waiting}.")
    return "\n".join(lines) + "\n"


def record(pid: int, seconds: float, out: Path, *, gil_only: bool) -> None:
    command = [
        *(str(PY_SPY), "record", "--pid", str(pid), "--duration", str(int(seconds))),
        *("--rate", "100", "--format", "raw", "--threads", "--output", str(out)),
        *(["--gil"] if gil_only else []),
    ]
    subprocess.run(command, check=True, capture_output=True)


def perf_split(pid: int, seconds: float, out: Path) -> str:
    """Return the on-CPU split of *pid* by shared object (perf), or "" without perf."""
    if shutil.which("perf") is None:
        return ""
    recorded = subprocess.run(
        [
            *("perf", "record", "-F", "499", "-o", str(out), "-p", str(pid)),
            *("--", "sleep", str(int(seconds))),
        ],
        capture_output=True,
        check=False,
    )
    if recorded.returncode != 0:
        return ""
    shown = subprocess.run(
        ["perf", "report", "-i", str(out), "--sort", "dso", "--stdio", "-g", "none"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    rows = []
    for line in shown.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].endswith("%"):
            rows.append(f"| {parts[1]} | {parts[0]} |")
    if not rows:
        return ""
    head = "\n### On-CPU time of the worker by shared object (perf, 499 Hz)\n\n"
    return head + "| Shared object | Share |\n|---|---|\n" + "\n".join(rows[:12]) + "\n"


def profile(system: System, scenario: str, seconds: float) -> str:
    tag = f"profile-{system.name}-{scenario}"
    out = RESULTS / f"{tag}.txt"
    with run.serving(system, 1, RESULTS / "logs" / f"{tag}.log") as root:
        (worker,) = measure.workers(root)
        tokens = run.sign_in(system, run.TOKEN_USERS)
        run.reads(system, tokens, 3).result()
        run.settle(root)
        loads = [run.reads(system, tokens, 2 * seconds + 6)]
        if scenario == "S4":
            loads.append(run.logins(system, 2 * seconds + 6, 0))
        time.sleep(2)
        record(worker.pid, seconds, out, gil_only=scenario == "S1")
        split = perf_split(worker.pid, seconds, out.with_suffix(".perf"))
        results = [w.result() for w in loads]
    rates = ", ".join(f"{r['ok_per_s']:,.1f}/s" for r in results)
    text = f"## {system.label}, {scenario}, 1 worker (under py-spy: {rates})\n\n"
    text += summarise(out) + split
    out.with_suffix(".md").write_text(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--system", default="usermgmt", choices=sorted(SYSTEMS))
    parser.add_argument("--scenarios", default="S1,S4")
    opts = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    for scenario in opts.scenarios.split(","):
        print(profile(SYSTEMS[opts.system], scenario, opts.seconds))


if __name__ == "__main__":
    main()
