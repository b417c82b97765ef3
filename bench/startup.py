"""Time the start-up of the CLI: ``usermgmt --help`` and ``usermgmt users list``.

Creates (once) the database ``bench_startup`` on ``BENCH_PG`` (default
``postgresql://postgres@127.0.0.1:5432``), migrates it and registers
``--users`` accounts (default 20), then runs each command ``--runs`` times
(default 15) in a fresh process, after two runs that are not counted, and
prints the median and the spread of each figure: wall time, CPU time (user +
system) and peak RSS of the process.

Python's bytecode cache is used as an installed package uses it (written on
the first run, read afterwards, in a directory of this run's own);
``--no-bytecode`` measures instead with ``PYTHONDONTWRITEBYTECODE=1`` and no
cache, as on a machine where every start compiles the sources again.
``PYTHONPATH`` is passed on, so another commit's tree (``git archive BASE src
sql | tar -x -C /tmp/base``, then ``PYTHONPATH=/tmp/base/src``) is timed in
the same environment.

    .venv/bin/python bench/startup.py
    .venv/bin/python bench/startup.py --runs 30 --script .venv/bin/usermgmt
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import conninfo, sql

from usermgmt import SYSTEM, Settings, UserManagement

SERVER = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
NAME = "bench_startup"
SECRET = "bench-startup-signing-secret-of-32-bytes-or-more"  # noqa: S105 - a bench database
PASSWORD = "correct horse battery staple"  # noqa: S105 - likewise


def prepare(users: int) -> str:
    """Create and migrate the database and give it *users* accounts, unless it has them."""
    url = conninfo.make_conninfo(SERVER, dbname=NAME)
    with psycopg.connect(conninfo.make_conninfo(SERVER, dbname="postgres"), autocommit=True) as c:
        if c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [NAME]).fetchone() is None:
            c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(NAME)))
    settings = Settings(
        jwt_secret=SECRET, argon2_time_cost=1, argon2_memory_cost=8, argon2_parallelism=1
    )

    async def fill() -> None:
        async with UserManagement.from_url(url, settings) as um:
            await um.migrate()
            have = (await um.list_users(actor=SYSTEM, per_page=100)).total
            for n in range(have, users):
                await um.register_user(f"user{n}@example.org", PASSWORD, name=f"User {n}")

    asyncio.run(fill())
    return url


def _run(command: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Run *command*; return its wall seconds, CPU seconds and peak RSS in MiB."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        msg = f"{' '.join(command)} exited with {process.returncode}"
        raise SystemExit(msg)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _summary(values: list[float], unit: str, scale: float = 1.0) -> str:
    shown = sorted(v * scale for v in values)
    return f"{statistics.median(shown):7.0f} {unit} ({shown[0]:.0f}-{shown[-1]:.0f})"


def main() -> None:
    """Prepare the database, then time each command."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--script", type=Path, default=Path(sys.executable).parent / "usermgmt")
    parser.add_argument("--no-bytecode", action="store_true")
    args = parser.parse_args()
    url = prepare(args.users)
    with tempfile.TemporaryDirectory(prefix="usermgmt-startup-") as cache:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("USERMGMT_", "PYTHON")) or k == "PYTHONPATH"
        }
        env.update(
            USERMGMT_DATABASE_URL=url,
            USERMGMT_JWT_SECRET=SECRET,
            USERMGMT_DATA_DIR=str(Path(cache) / "data"),
            PYTHONPYCACHEPREFIX=cache,
        )
        if args.no_bytecode:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        commands = {
            "usermgmt --help": [str(args.script), "--help"],
            "usermgmt users list": [str(args.script), "users", "list"],
        }
        print(f"{args.runs} runs each; bytecode cache {'off' if args.no_bytecode else 'on'}")
        print(f"{'command':<22} {'wall':>22} {'cpu':>22} {'peak RSS':>22}")
        for label, command in commands.items():
            for _ in range(2):
                _run(command, env)  # write the bytecode cache; warm the page cache
            runs = [_run(command, env) for _ in range(args.runs)]
            walls, cpus, rss = zip(*runs, strict=True)
            print(
                f"{label:<22} {_summary(list(walls), 'ms', 1000):>22} "
                f"{_summary(list(cpus), 'ms', 1000):>22} {_summary(list(rss), 'MiB'):>22}"
            )


if __name__ == "__main__":
    main()
