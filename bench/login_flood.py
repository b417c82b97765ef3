"""A small login flood with and without load shedding: logins/s, and read latency meanwhile.

    .venv/bin/python bench/login_flood.py                          # 3 rounds of 10 s
    .venv/bin/python bench/login_flood.py --connections 128 --argon2 3,65536,4

Each run starts a fresh server the way ``usermgmt serve`` runs it (one worker),
times one login, then runs two wrk processes at once for the same duration:
one floods ``POST /api/auth/login`` (one user, right password, a new request as
soon as the last is answered, 503s included: an attacker does not wait), the
other reads ``GET /api/auth/me`` on 4 connections. "queueing" is the same
server with the hasher's backlog unbounded (nothing shed). Runs alternate
between the two variants, round after round, on a small database
(``bench_flood`` on the local PostgreSQL, recreated on every run).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

from usermgmt import Settings, UserManagement

PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
DATABASE = "bench_flood"
SECRET = "bench-only-signing-secret-0123456789abcdef"  # noqa: S105 - benchmark data
PASSWORD = "quartz-lantern-47-meadow"  # noqa: S105 - benchmark data
EMAIL = "flood@example.org"
SERVER = """
import uvicorn
from usermgmt.adapters.passwords import Argon2PasswordHasher
from usermgmt.entrypoints.cli.serve import APP_FACTORY, LOG_CONFIG
from usermgmt.entrypoints.http.protocol import BoundedHttpToolsProtocol
if {unbounded}:
    Argon2PasswordHasher.__init__.__kwdefaults__["max_backlog"] = float("inf")
uvicorn.run(APP_FACTORY, factory=True, host="127.0.0.1", port={port}, workers=1, loop="uvloop",
            http=BoundedHttpToolsProtocol, lifespan="on", access_log=False,
            log_config=LOG_CONFIG, server_header=False, proxy_headers=False)
"""
LOGIN_SCRIPT = f"""
wrk.method = "POST"
wrk.body = '{{"email": "{EMAIL}", "password": "{PASSWORD}"}}'
wrk.headers["Content-Type"] = "application/json"
"""


def argon2_environment(spec: str) -> dict[str, str]:
    time_cost, memory_cost, parallelism = spec.split(",")
    return {
        "USERMGMT_ARGON2_TIME_COST": time_cost,
        "USERMGMT_ARGON2_MEMORY_COST": memory_cost,
        "USERMGMT_ARGON2_PARALLELISM": parallelism,
    }


def prepare(spec: str) -> tuple[str, str]:
    """Recreate the database with one user; return its URL and an access token."""
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        name = sql.Identifier(DATABASE)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    url = f"{PG}/{DATABASE}"
    time_cost, memory_cost, parallelism = (int(v) for v in spec.split(","))
    settings = Settings(
        jwt_secret=SECRET,
        argon2_time_cost=time_cost,
        argon2_memory_cost=memory_cost,
        argon2_parallelism=parallelism,
    )

    async def arrange() -> str:
        async with UserManagement.from_url(url, settings) as um:
            await um.register_user(EMAIL, PASSWORD)
            return (await um.authenticate(EMAIL, PASSWORD)).access_token

    return url, asyncio.run(arrange())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"no server on port {port}")


def parse(out: str) -> dict[str, float | str]:
    """Pick the figures out of wrk's --latency report."""
    requests = int(re.search(r"(\d+) requests in ([\d.]+)s", out)[1])  # type: ignore[index]
    seconds = float(re.search(r"\d+ requests in ([\d.]+)s", out)[1])  # type: ignore[index]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "ok_per_s": (requests - (int(non_2xx[1]) if non_2xx else 0)) / seconds,
        "refused_per_s": (int(non_2xx[1]) if non_2xx else 0) / seconds,
        "p50": re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE)[1],  # type: ignore[index]
        "p99": re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)[1],  # type: ignore[index]
        "max": re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", out)[1],  # type: ignore[index]
        "errors": errors[1] if errors else "none",
    }


def run_one(
    variant: str, url: str, token: str, spec: str, connections: int, duration: int, lua: Path
) -> tuple[dict[str, float | str], dict[str, float | str]]:
    port = free_port()
    env = {
        **os.environ,
        **argon2_environment(spec),
        "USERMGMT_DATABASE_URL": url,
        "USERMGMT_JWT_SECRET": SECRET,
        "USERMGMT_MIGRATE_ON_START": "false",
        "USERMGMT_RATE_LIMIT_PER_MINUTE": "0",
    }
    code = SERVER.format(port=port, unbounded=variant == "queueing")
    server = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(port)
        subprocess.run(  # one login: the hasher times its first hash
            ["wrk", "-t1", "-c1", "-d1s", "-s", str(lua), f"{base}/api/auth/login"],
            capture_output=True,
            check=True,
        )
        flood = subprocess.Popen(
            [
                *("wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "60s"),
                *("--latency", "-s", str(lua), f"{base}/api/auth/login"),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        reads = subprocess.run(
            [
                *("wrk", "-t1", "-c4", f"-d{duration}s", "--timeout", "60s", "--latency"),
                *("-H", f"Authorization: Bearer {token}", f"{base}/api/auth/me"),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        logins = flood.communicate()[0]
        return parse(logins), parse(reads)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64, help="login connections")
    parser.add_argument("--argon2", default="2,19456,1", help="time,memory KiB,parallelism")
    args = parser.parse_args()
    url, token = prepare(args.argon2)
    with tempfile.TemporaryDirectory() as scratch:
        lua = Path(scratch) / "login.lua"
        lua.write_text(LOGIN_SCRIPT, encoding="utf-8")
        for round_ in range(args.rounds):
            order = ["shedding", "queueing"] if round_ % 2 == 0 else ["queueing", "shedding"]
            for variant in order:
                load = os.getloadavg()[0]
                logins, reads = run_one(
                    variant, url, token, args.argon2, args.connections, args.duration, lua
                )
                print(
                    f"round {round_ + 1} {variant:8}  logins: {logins['ok_per_s']:6.1f} ok/s,"
                    f" {logins['refused_per_s']:7.1f} 503/s, p50 {logins['p50']}, p99"
                    f" {logins['p99']}, errors {logins['errors']};  reads: {reads['ok_per_s']:6.0f}"
                    f"/s, p50 {reads['p50']}, p99 {reads['p99']}, max {reads['max']}"
                    f"  (load before: {load:.2f})",
                    flush=True,
                )


if __name__ == "__main__":
    main()
