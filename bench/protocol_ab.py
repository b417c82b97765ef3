"""A/B the HTTP protocol of ``serve``: plain httptools against the bounded-head protocol.

    .venv/bin/python bench/protocol_ab.py                     # 5 rounds of 10 s per variant
    .venv/bin/python bench/protocol_ab.py --rounds 3 --duration 5
    .venv/bin/python bench/protocol_ab.py --in-process     # the protocols alone, no server

Both variants run the same application, the same way ``usermgmt serve`` runs
it (one worker, uvloop, no access log, no proxy headers); only ``http=``
differs. Each round starts A then B (B then A in odd rounds), each on a fresh
server with a 2-second warm-up, and runs ``wrk`` against ``GET /api/auth/me``
with one user's bearer token on a small database (``bench_protocol`` on the
local PostgreSQL, recreated on every run). Besides requests/s it reports the
server's CPU time per request, which foreign load on a shared machine
disturbs far less than throughput; the load average before each run is
printed too.

``--in-process`` measures the protocols alone: each parses the same 400-byte
``GET /api/auth/me`` head 20,000 times on one connection, answered by a
two-byte ASGI app, against a transport that discards what is written; 15
alternating repetitions, CPU time per request (minimum and median).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

import psutil
import psycopg
from psycopg import sql

from usermgmt import Settings, UserManagement

PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
DATABASE = "bench_protocol"
SECRET = "bench-only-signing-secret-0123456789abcdef"  # noqa: S105 - benchmark data
PASSWORD = "quartz-lantern-47-meadow"  # noqa: S105 - benchmark data
VARIANTS = {
    "httptools": '"httptools"',
    "bounded": "__import__('usermgmt.entrypoints.http.protocol', fromlist=['x'])"
    ".BoundedHttpToolsProtocol",
}
SERVER = """
import logging, uvicorn
from usermgmt.entrypoints.cli.serve import APP_FACTORY, LOG_CONFIG
uvicorn.run(APP_FACTORY, factory=True, host="127.0.0.1", port={port}, workers=1, loop="uvloop",
            http={http}, lifespan="on", access_log=False, log_config=LOG_CONFIG,
            server_header=False, proxy_headers=False)
"""


def prepare() -> tuple[str, str]:
    """Recreate the database with one user; return its URL and that user's access token."""
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        name = sql.Identifier(DATABASE)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    url = f"{PG}/{DATABASE}"

    async def arrange() -> str:
        async with UserManagement.from_url(url, Settings(jwt_secret=SECRET)) as um:
            await um.register_user("bench@example.org", PASSWORD)
            return (await um.authenticate("bench@example.org", PASSWORD)).access_token

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


def wrk(port: int, token: str, duration: int) -> tuple[int, float, str, str]:
    """Return the requests, requests/s, p50 and p99 of one wrk run."""
    out = subprocess.run(
        [
            *("wrk", "-t2", "-c64", f"-d{duration}s", "--latency"),
            *("-H", f"Authorization: Bearer {token}"),
            f"http://127.0.0.1:{port}/api/auth/me",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"wrk saw errors:\n{out}")
    requests = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE)[1]  # type: ignore[index]
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)[1]  # type: ignore[index]
    return requests, rps, p50, p99


def run_one(variant: str, url: str, token: str, duration: int) -> tuple[float, float, str, str]:
    """Return requests/s, server CPU microseconds per request, p50 and p99 of one variant."""
    port = free_port()
    env = {
        **os.environ,
        "USERMGMT_DATABASE_URL": url,
        "USERMGMT_JWT_SECRET": SECRET,
        "USERMGMT_MIGRATE_ON_START": "false",
    }
    code = SERVER.format(port=port, http=VARIANTS[variant])
    server = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL
    )
    try:
        wait_ready(port)
        wrk(port, token, 2)  # warm-up
        process = psutil.Process(server.pid)
        cpu = sum(process.cpu_times()[:2])
        requests, rps, p50, p99 = wrk(port, token, duration)
        cpu_per_request = (sum(process.cpu_times()[:2]) - cpu) / requests * 1e6
        return rps, cpu_per_request, p50, p99
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


# --- the protocols alone -------------------------------------------------------------------

HEAD = (
    b"GET /api/auth/me HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUser-Agent: wrk\r\n"
    b"Authorization: Bearer " + b"x" * 300 + b"\r\nAccept: */*\r\n\r\n"
)


async def _tiny_app(_scope: object, _receive: object, send: Any) -> None:  # noqa: ANN401
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"{}"})


class _Sink(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.closing = False

    def write(self, data: Any) -> None:  # noqa: ANN401
        pass

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:  # noqa: ANN401
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _parse(protocol_class: type[Any], requests: int) -> float:
    from uvicorn.config import Config  # noqa: PLC0415
    from uvicorn.server import ServerState  # noqa: PLC0415

    config = Config(app=_tiny_app, lifespan="off", proxy_headers=False, log_config=None)
    config.load()
    protocol = protocol_class(config=config, server_state=ServerState(), app_state={})
    protocol.connection_made(_Sink())
    start = time.process_time()
    for _ in range(requests):
        protocol.data_received(HEAD)
        await asyncio.sleep(0)  # the request's task starts ...
        await asyncio.sleep(0)  # ... and answers
    elapsed = time.process_time() - start
    protocol.connection_lost(None)
    return elapsed / requests * 1e6


def in_process() -> None:
    import uvloop  # noqa: PLC0415
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol  # noqa: PLC0415

    from usermgmt.entrypoints.http.protocol import BoundedHttpToolsProtocol  # noqa: PLC0415

    classes = {"httptools": HttpToolsProtocol, "bounded": BoundedHttpToolsProtocol}

    async def measure() -> dict[str, list[float]]:
        found: dict[str, list[float]] = {name: [] for name in classes}
        for repetition in range(15):
            order = list(classes) if repetition % 2 == 0 else list(reversed(classes))
            for name in order:
                found[name].append(await _parse(classes[name], 20_000))
        return found

    found = uvloop.run(measure())
    for name, values in found.items():
        print(
            f"{name:9} {min(values):6.2f} us/request (min),"
            f" {statistics.median(values):6.2f} (median)"
        )
    extra = min(found["bounded"]) - min(found["httptools"])
    print(f"bounded costs {extra:.2f} us more per request (difference of the minima)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--in-process", action="store_true", help="the protocols alone")
    args = parser.parse_args()
    if args.in_process:
        in_process()
        return
    url, token = prepare()
    results: dict[str, list[float]] = {name: [] for name in VARIANTS}
    costs: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for round_ in range(args.rounds):
        order = list(VARIANTS) if round_ % 2 == 0 else list(reversed(VARIANTS))
        for variant in order:
            load = os.getloadavg()[0]
            rps, cost, p50, p99 = run_one(variant, url, token, args.duration)
            results[variant].append(rps)
            costs[variant].append(cost)
            print(
                f"round {round_ + 1} {variant:9} {rps:8.0f} req/s  {cost:6.0f} us CPU/req"
                f"  p50 {p50:>8}  p99 {p99:>8}  (load before: {load:.2f})",
                flush=True,
            )
    print()
    for variant, values in results.items():
        print(
            f"{variant:9} median {statistics.median(values):7.0f} req/s"
            f"  (min {min(values):.0f}, max {max(values):.0f});"
            f"  median {statistics.median(costs[variant]):.0f} us server CPU per request"
            f"  (min {min(costs[variant]):.0f}, max {max(costs[variant]):.0f})"
        )
    for name, table in (("req/s", results), ("CPU/req", costs)):
        paired = [b / a for a, b in zip(table["httptools"], table["bounded"], strict=True)]
        print(
            f"{name} bounded / httptools per round: {', '.join(f'{r:.3f}' for r in paired)};"
            f" median {statistics.median(paired):.3f}"
        )


if __name__ == "__main__":
    main()
