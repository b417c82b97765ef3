"""Time POST /api/auth/password/forgot for unknown, deleted, deactivated and live addresses.

The contract asks for the same answer in the same time whoever owns the
address. This runs the real application (its dispatcher too, mailing into
memory) on a scratch database of the local PostgreSQL, sends the four kinds
of request interleaved, round after round, and prints each kind's median and
90th percentile, and the largest gap between two kinds' medians.

    .venv/bin/python bench/forgot_timing.py [--rounds 400] [--database-url URL]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import time

import psycopg
from litestar.testing import TestClient
from psycopg import conninfo, sql

from usermgmt import SYSTEM, Settings, UserManagement
from usermgmt.adapters.mail import InMemoryMailer
from usermgmt.entrypoints.http import create_app

PASSWORD = "correct horse battery staple"  # noqa: S105 - the benchmark users' shared password
KINDS = ("unknown", "deleted", "deactivated", "live")


def _arrange(url: str, settings: Settings, count: int) -> dict[str, list[str]]:
    """Make *count* addresses of each kind; return them by kind."""
    addresses = {kind: [f"{kind}{n}@example.org" for n in range(count)] for kind in KINDS}
    with UserManagement.from_url(url, settings).blocking() as um:
        for kind in ("deleted", "deactivated", "live"):
            for email in addresses[kind]:
                user = um.register_user(email, PASSWORD)
                if kind == "deleted":
                    um.delete_user(user.id, actor=SYSTEM)
                elif kind == "deactivated":
                    um.update_user(user.id, actor=SYSTEM, is_active=False)
    return addresses


def main() -> None:
    """Measure, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    name = f"bench_forgot_{secrets.token_hex(4)}"
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = conninfo.make_conninfo(args.database_url, dbname=name)
    try:
        settings = Settings(
            rate_limit_per_minute=0, argon2_time_cost=1, argon2_memory_cost=8, argon2_parallelism=1
        )
        # Each live address gets one mail: a fresh address per round keeps the quota out of it.
        addresses = _arrange(url, settings, args.rounds)
        service = UserManagement.from_url(url, settings, mailer=InMemoryMailer())
        timings: dict[str, list[float]] = {kind: [] for kind in KINDS}
        with TestClient(create_app(service, settings)) as client:
            for _ in range(20):  # warm up the pool, the caches and the code paths
                client.post("/api/auth/password/forgot", json={"email": "warm@example.org"})
            for n in range(args.rounds):
                order = list(KINDS) if n % 2 == 0 else list(reversed(KINDS))
                for kind in order:
                    started = time.perf_counter()
                    response = client.post(
                        "/api/auth/password/forgot", json={"email": addresses[kind][n]}
                    )
                    timings[kind].append((time.perf_counter() - started) * 1000)
                    if response.status_code != 202:
                        raise SystemExit(f"forgot answered {response.status_code}: {response.text}")
    finally:
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    medians = {kind: statistics.median(values) for kind, values in timings.items()}
    print(f"POST /api/auth/password/forgot, {args.rounds} requests per kind, interleaved")
    print(f"{'address':<12} {'median ms':>10} {'p90 ms':>8}")
    for kind, values in timings.items():
        p90 = statistics.quantiles(values, n=10)[-1]
        print(f"{kind:<12} {medians[kind]:>10.2f} {p90:>8.2f}")
    gap = max(medians.values()) - min(medians.values())
    print(f"largest gap between medians: {gap:.2f} ms ({gap / min(medians.values()):.1%})")


if __name__ == "__main__":
    main()
