"""S6: refresh-token rotation over HTTP with a million live sessions in the table.

Runs against the benchmark's usermgmt database (``bench_usermgmt``, a million
users, made by ``bench/run.py`` or ``bench/prepare.py``). Once, it adds
``--sessions`` live sessions (default 1 million: one per bulk user u2..,
each with a spent and a live refresh token, like a session refreshed once)
with one ``INSERT … SELECT generate_series``. Then it starts ``usermgmt
serve`` (``--workers``), signs in ``--clients`` users, and lets each client
rotate its own refresh token as fast as the server answers for
``--seconds``: every ``POST /api/auth/refresh`` spends the token it presents
and returns the next, which the client presents next. Prints refreshes/s,
p50 and p99 (wall time of each round trip), the errors, and the CPU the
server and PostgreSQL used. Neither peer's app has a refresh route.

    bench/.venvs/tools/bin/python bench/refresh_rotation.py
    bench/.venvs/tools/bin/python bench/refresh_rotation.py --workers 2 --seconds 20
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time

import measure
import psycopg
from run import RESULTS, serving, settle
from systems import EMAIL, HOST, PASSWORD, USERMGMT

_SEED = """
WITH seeded AS (
    INSERT INTO sessions (id, user_id, created_at, expires_at, revoked_at, last_used_at,
                          ip, user_agent, amr)
    SELECT gen_random_uuid(), u.id, now() - interval '1 day', now() + interval '29 days',
           NULL, now() - interval '1 hour', '203.0.113.7', 'bench', '{pwd}'
    FROM (SELECT id FROM users WHERE email_key <> 'u1@example.org'
          ORDER BY created_at LIMIT %(count)s) AS u
    RETURNING id
)
INSERT INTO refresh_tokens (token_hash, session_id, issued_at, spent_at)
SELECT sha256(convert_to(id::text || side, 'UTF8')), id, now() - interval '1 hour',
       CASE WHEN side = 'spent' THEN now() - interval '1 hour' END
FROM seeded, (VALUES ('spent'), ('live')) AS sides (side)
"""


def seed(count: int) -> None:
    """Give the bulk users *count* live sessions, unless the table holds that many already."""
    with psycopg.connect(USERMGMT.dsn, autocommit=True) as conn:
        live = conn.execute(
            "SELECT count(*) FROM sessions WHERE revoked_at IS NULL AND user_agent = 'bench'"
        ).fetchone()
        if live and live[0] >= count:
            print(f"{live[0]:,} seeded live sessions already there")
            return
        started = time.monotonic()
        conn.execute(_SEED, {"count": count - (live[0] if live else 0)})
        conn.execute("VACUUM ANALYZE sessions")
        conn.execute("VACUUM ANALYZE refresh_tokens")
        print(f"seeded {count:,} live sessions in {time.monotonic() - started:.0f} s")


def _post(conn: http.client.HTTPConnection, path: str, body: dict[str, str]) -> tuple[int, dict]:
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    response = conn.getresponse()
    data = response.read()
    return response.status, (json.loads(data) if data else {})


def sign_in(number: int) -> str:
    """Sign in as bulk user *number* (one at a time: the hasher sheds a crowd); return the token."""
    conn = http.client.HTTPConnection(HOST, USERMGMT.port, timeout=30)
    status, pair = _post(
        conn, "/api/auth/login", {"email": EMAIL.format(n=number), "password": PASSWORD}
    )
    conn.close()
    if status != 200:
        msg = f"sign-in of u{number} answered {status}"
        raise RuntimeError(msg)
    return str(pair["refresh_token"])


def client(token: str, seconds: float, latencies: list[float], errors: list[int]) -> None:
    """Rotate one session's refresh *token*, presenting each new one, until time is up."""
    conn = http.client.HTTPConnection(HOST, USERMGMT.port, timeout=30)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        status, pair = _post(conn, "/api/auth/refresh", {"refresh_token": token})
        latencies.append(time.perf_counter() - started)
        if status != 200:
            errors.append(status)
            return
        token = pair["refresh_token"]


def main() -> None:
    """Seed, serve, rotate, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15.0)
    opts = parser.parse_args()
    seed(opts.sessions)
    with serving(USERMGMT, opts.workers, RESULTS / "logs" / "refresh-rotation.log") as root:
        tokens = [sign_in(1_001 + i) for i in range(opts.clients)]
        settle(root)
        latencies: list[float] = []
        errors: list[int] = []
        window = measure.CpuWindow(root, USERMGMT.database)
        threads = [
            threading.Thread(target=client, args=(token, opts.seconds, latencies, errors))
            for token in tokens
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - started
        cpu = window.stop(0.0)
        settle(root)
    latencies.sort()

    def ms(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    print(
        f"S6 refresh rotation, {opts.workers} worker(s), {opts.clients} clients, "
        f"{opts.sessions:,} seeded live sessions:"
    )
    print(
        f"  {len(latencies) / wall:,.0f} refreshes/s, p50 {ms(0.5):.1f} ms, "
        f"p99 {ms(0.99):.1f} ms, errors {len(errors)} {sorted(set(errors))}"
    )
    print(
        f"  server {cpu['server_cores']:.2f} cores, PostgreSQL {cpu['postgres_cores']:.2f}, "
        f"the rest {cpu['foreign_cores']:.2f} (the clients, in this process, among it)"
    )


if __name__ == "__main__":
    main()
