"""What the metrics cost one request: the S1 read through the whole application, off and on.

    .venv/bin/python bench/metrics_overhead.py [--requests 20000] [--rounds 5]

No network and no database: the application (in-memory backend) is called
as an ASGI app, so that what is measured is the application's own time per
request, where the metrics' share is largest. Each round is timed in this
process's CPU time, so that other processes on a busy machine count as
little as they can. ``GET /api/auth/me`` with a
bearer token (S1's request) is sent ``--requests`` times to an application
with ``USERMGMT_METRICS=false`` and to one with ``true``, alternating in
``--rounds`` rounds so that drift in the machine's load hits both alike; the
minimum and median of the rounds and their differences are printed, together with the
cost of the metrics' call alone (``Metrics.request_done``, timed by timeit).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import timeit
from typing import Any

from litestar import Litestar

from usermgmt import Settings, UserManagement
from usermgmt.entrypoints.http import create_app
from usermgmt.entrypoints.http.metrics import Metrics

PASSWORD = "correct horse battery staple"  # noqa: S105 - a benchmark user's
SETTINGS = Settings(
    jwt_secret="bench-signing-secret-of-at-least-32-bytes",  # noqa: S106 - a throwaway key
    argon2_time_cost=1,
    argon2_memory_cost=8,
    argon2_parallelism=1,
)


async def _read(app: Litestar, token: str) -> None:
    """Send one ``GET /api/auth/me`` through the ASGI interface and check the answer."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/api/auth/me",
        "raw_path": b"/api/auth/me",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)  # type: ignore[arg-type]
    if status != 200:
        raise RuntimeError(f"GET /api/auth/me answered {status}")


async def _per_request(app: Litestar, token: str, requests: int) -> float:
    start = time.process_time()  # CPU time: other processes' load does not count
    for _ in range(requests):
        await _read(app, token)
    return (time.process_time() - start) / requests


async def main(requests: int, rounds: int) -> None:
    """Measure both applications, alternating, and print what each request cost."""
    service = UserManagement.in_memory(SETTINGS)
    async with service:
        await service.register_user("bench@example.org", PASSWORD)
        token = (await service.authenticate("bench@example.org", PASSWORD)).access_token
        apps = {
            "off": create_app(service, SETTINGS),
            "on": create_app(service, SETTINGS.evolve(metrics=True)),
        }
        for app in apps.values():  # warm up: first calls build caches
            await _per_request(app, token, 500)
        seconds: dict[str, list[float]] = {name: [] for name in apps}
        for _ in range(rounds):
            for name, app in apps.items():
                seconds[name].append(await _per_request(app, token, requests))
    # The minimum is the run least disturbed by other load; the median is shown too.
    for name in apps:
        shown = ", ".join(f"{s * 1e6:.1f}" for s in seconds[name])
        best, middle = min(seconds[name]) * 1e6, statistics.median(seconds[name]) * 1e6
        print(f"metrics {name:>3}: min {best:.1f}, median {middle:.1f} µs/request ({shown})")
    for pick in (min, statistics.median):
        off, on = (pick(seconds[name]) * 1e6 for name in ("off", "on"))
        change = (on - off) / off
        print(f"difference of the {pick.__name__}s: {on - off:+.1f} µs/request ({change:+.1%})")
    metrics = Metrics(UserManagement.in_memory(SETTINGS))
    calls = 100_000
    alone = timeit.timeit(
        lambda: metrics.request_done("GET", "/api/auth/me", 200, 0.001), number=calls
    )
    print(f"Metrics.request_done alone: {alone / calls * 1e6:.2f} µs/call")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.rounds))
