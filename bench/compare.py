"""The regression gate: S1 and S2 for two commits of usermgmt, interleaved in one run.

    bench/.venvs/tools/bin/python bench/compare.py BASE HEAD            # 3 rounds, 1 worker
    bench/.venvs/tools/bin/python bench/compare.py HEAD~3 HEAD --workers 1,2 --rounds 5

Each commit is checked out on its own (``git worktree``, detached, under
``bench/.compare/``), installed into its own virtualenv, and given its own
database (``bench_cmp_<commit>``), migrated by that commit's ``usermgmt db
migrate`` and filled by that commit's own ``bench/prepare.py`` with the bulk
users (so each commit runs on the schema it expects). Then, round after
round, each commit is started on a fresh server and put through S1
(authenticated reads) and S2 (a login storm), the two commits alternating
(BASE, HEAD, BASE, HEAD, ...) so that slow drifts of the machine hit both
alike. The figures are printed with the ratio HEAD / BASE of the medians and
the spread between rounds, and written to ``bench/results/compare-*.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import measure
import run
from prepare import create_database
from report import DASH
from systems import BENCH, USERMGMT, System

REPO = BENCH.parent
WORK = BENCH / ".compare"
FIRST_PORT = 18111


@dataclasses.dataclass(frozen=True)
class Build:
    """One commit, checked out and installed."""

    commit: str  # full hash
    label: str  # what the user typed, with the short hash
    tree: Path
    system: System


def git(*args: str, cwd: Path = REPO) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def checkout(rev: str, port: int) -> Build:
    """Check out and install *rev*; return how to serve it."""
    commit = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    short = commit[:12]
    tree = WORK / short
    if not (tree / ".git").exists():
        WORK.mkdir(exist_ok=True)
        git("worktree", "prune")
        git("worktree", "add", "--detach", "--force", str(tree), commit)
    venv = tree / ".venv"
    stamp = venv / ".installed"
    if not stamp.exists():
        run.log(f"installing {short} into {venv}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, "-U", "pip"], check=True)
        subprocess.run([*pip, f"{tree}[embedded]"], check=True)
        stamp.write_text(commit)
    system = dataclasses.replace(
        USERMGMT,
        name=f"usermgmt@{short}",
        label=f"{rev} ({commit[:8]})",
        database=f"bench_cmp_{short}",
        port=port,
        executable=str(venv / "bin" / "usermgmt"),
    )
    return Build(commit=commit, label=f"{rev} ({commit[:8]})", tree=tree, system=system)


def prepare(build: Build, users: int) -> None:
    """Give *build* its own database: its migrations, then its own bulk users."""
    if create_database(build.system.database):
        run.log(f"created database {build.system.database}")
    exe = build.system.executable or "usermgmt"
    env = build.system.environment()
    subprocess.run([exe, "db", "migrate", "--database-url", build.system.dsn], check=True, env=env)
    # The commit's own prepare.py knows the commit's own schema.
    code = (
        "import dataclasses, sys\n"
        "import argon2, prepare, systems\n"
        "system = dataclasses.replace(systems.USERMGMT, database=sys.argv[1])\n"
        "prepare.bulk_users(system, int(sys.argv[2]),"
        " argon2.PasswordHasher().hash(systems.PASSWORD))\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, build.system.database, str(users)],
        cwd=build.tree / "bench",
        check=True,
    )


def summary(records: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Median, min and max over the rounds of the figures the gate compares."""
    figures = {
        "S1 reads/s": lambda r: r["S1"]["ok_per_s"],
        "S1 p99 ms": lambda r: r["S1"]["p99_us"] / 1000,
        "S2 logins/s": lambda r: r["S2"]["ok_per_s"],
        "S2 p99 ms": lambda r: r["S2"]["p99_us"] / 1000,
        "idle RSS MiB": lambda r: max(r["idle_rss_mib"]),
    }
    out = {}
    for name, read in figures.items():
        values = [read(r) for r in records]
        out[name] = {
            "median": statistics.median(values),
            "min": min(values),
            "max": max(values),
            "values": values,
        }
    return out


def shown(stats: dict[str, float]) -> str:
    return f"{stats['median']:,.1f} ({stats['min']:,.1f}{DASH}{stats['max']:,.1f})"


def table(base: Build, head: Build, results: dict[str, Any], workers: list[int]) -> str:
    lines = [
        f"| workers | figure | {base.label} | {head.label} | head / base | spread between rounds |",
        "|---|---|---|---|---|---|",
    ]
    for w in workers:
        b = results[str(w)][base.commit]
        h = results[str(w)][head.commit]
        for name, stats in b.items():
            hb = h[name]
            ratio = hb["median"] / stats["median"] if stats["median"] else float("nan")
            spread = max(
                (s["max"] - s["min"]) / s["median"] if s["median"] else 0 for s in (stats, hb)
            )
            lines.append(
                f"| {w} | {name} | {shown(stats)} | {shown(hb)} | {ratio:.3f}"
                f" | ±{spread * 50:.1f} % |"
            )
    return "\n".join(lines)


def options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("base", help="the commit before the change (any git revision)")
    parser.add_argument("head", help="the commit after it")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per scenario")
    parser.add_argument("--workers", default="1", help="worker counts, e.g. 1,2")
    parser.add_argument("--users", type=int, default=1_000_000, help="bulk users per database")
    parser.add_argument("--skip-prepare", action="store_true", help="the databases are ready")
    opts = parser.parse_args(argv)
    opts.workers = [int(w) for w in opts.workers.split(",")]
    opts.warmup = 3.0
    opts.scenarios = {"S1", "S2"}
    opts.run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    return opts


def main(argv: list[str] | None = None) -> int:
    opts = options(argv)
    base = checkout(opts.base, FIRST_PORT)
    head = checkout(opts.head, FIRST_PORT + 1)
    if not opts.skip_prepare:
        for build in (base, head):
            prepare(build, opts.users)
    records: list[dict[str, Any]] = []
    for round_no in range(opts.rounds):
        for workers in opts.workers:
            order = (base, head) if round_no % 2 == 0 else (head, base)
            for build in order:
                run.log(f"round {round_no + 1}/{opts.rounds}: {build.label}, {workers} worker(s)")
                record = run.run_system(build.system, workers, round_no, opts)
                record["commit"] = build.commit
                records.append(record)
                run.log("    " + run.report.one_line(record))
    results = {
        str(w): {
            b.commit: summary([r for r in records if r["commit"] == b.commit and r["workers"] == w])
            for b in (base, head)
        }
        for w in opts.workers
    }
    text = table(base, head, results, opts.workers)
    out = run.RESULTS / f"compare-{base.commit[:8]}-{head.commit[:8]}-{opts.run_id}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "command": " ".join(["bench/compare.py", *(argv or sys.argv[1:])]),
                "run_id": opts.run_id,
                "base": base.commit,
                "head": head.commit,
                "rounds": opts.rounds,
                "duration_s": opts.duration,
                "users": opts.users,
                "cores": measure.CORES,
                "results": results,
                "records": records,
            },
            indent=1,
        )
    )
    print(text)
    run.log(f"written to {out}")
    return 0


def clean() -> None:
    """Remove every checkout made by this script (``--clean``)."""
    if WORK.exists():
        shutil.rmtree(WORK)
    git("worktree", "prune")


if __name__ == "__main__":
    if sys.argv[1:] == ["--clean"]:
        clean()
        sys.exit(0)
    sys.exit(main())
