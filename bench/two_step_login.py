"""S9: two-step login (password, then a TOTP code) against the hashing ceiling.

Runs against the benchmark's usermgmt database (``bench_usermgmt``, a million
users, made by ``bench/run.py`` or ``bench/prepare.py``). Once the server has
migrated it, TOTP is turned on for ``--users`` bulk users from u200001 on (a
confirmed key, the same secret for all, ``mfa_enabled`` set), with one
``INSERT … SELECT``; users that have it already are left as they are. Then it
starts ``usermgmt serve`` (``--workers``) and lets ``--clients`` clients
sign in for ``--seconds``, each login a distinct user: ``POST
/api/auth/login`` answers ``mfa_required`` with an ``mfa_token``, and ``POST
/api/auth/mfa/verify`` with the current code (pyotp) returns the token pair.
Beside the two-step logins/s it prints the bound the hashing sets (the
machine's cores over the CPU seconds of one argon2 verify, measured before
the server starts), the ratio (the target is 90 %), p50 and p99 of the whole
sign-in, and the CPU of the server and PostgreSQL.

    bench/.venvs/tools/bin/python bench/two_step_login.py
    bench/.venvs/tools/bin/python bench/two_step_login.py --workers 2 --seconds 20
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import threading
import time

import measure
import psycopg
import pyotp
from run import RESULTS, serving, settle
from systems import EMAIL, HOST, PASSWORD, USERMGMT

FIRST = 200_001
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105 - benchmark data, every bench user's key

_SEED = """
WITH chosen AS (
    SELECT id FROM users
    WHERE email_key = ANY(%(emails)s) AND NOT mfa_enabled
), keys AS (
    INSERT INTO credentials (id, user_id, kind, secret, data, created_at, updated_at)
    SELECT gen_random_uuid(), id, 'totp', %(secret)s,
           '{"confirmed": true, "last_step": null}'::jsonb, now(), now()
    FROM chosen
    ON CONFLICT DO NOTHING
)
UPDATE users SET mfa_enabled = true WHERE id IN (SELECT id FROM chosen)
"""


def seed(count: int) -> None:
    """Turn TOTP on for bulk users u200001 .. u(200000 + *count*)."""
    emails = [EMAIL.format(n=n) for n in range(FIRST, FIRST + count)]
    with psycopg.connect(USERMGMT.dsn, autocommit=True) as conn:
        started = time.monotonic()
        done = conn.execute(_SEED, {"emails": emails, "secret": SECRET})
        print(
            f"TOTP turned on for {done.rowcount:,} more users in {time.monotonic() - started:.1f} s"
        )


def _post(
    conn: http.client.HTTPConnection, path: str, body: dict[str, str]
) -> tuple[int, dict, float]:
    """POST *body*; return the status, the JSON answer and the Retry-After seconds (or 0)."""
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    response = conn.getresponse()
    data = response.read()
    retry_after = float(response.getheader("Retry-After") or 0)
    return response.status, (json.loads(data) if data else {}), retry_after


def client(
    numbers: itertools.count[int],
    last: int,
    deadline: float,
    latencies: list[float],
    errors: list[int],
) -> None:
    """Sign in user after user, with both steps, until time is up or the users run out."""
    conn = http.client.HTTPConnection(HOST, USERMGMT.port, timeout=60)
    totp = pyotp.TOTP(SECRET)
    while time.monotonic() < deadline:
        number = next(numbers)
        if number > last:
            return
        started = time.perf_counter()
        body = {"email": EMAIL.format(n=number), "password": PASSWORD}
        try:
            status, challenge, retry_after = _post(conn, "/api/auth/login", body)
        except (ConnectionError, http.client.HTTPException):  # the server closed it: reconnect
            conn.close()
            conn = http.client.HTTPConnection(HOST, USERMGMT.port, timeout=60)
            errors.append(0)
            continue
        if status != 200 or not challenge.get("mfa_required"):
            errors.append(status)
            # A shed login (503) says when to come back: a well-behaved client waits.
            time.sleep(max(0.0, min(retry_after, deadline - time.monotonic())))
            continue
        verify = {"mfa_token": challenge["mfa_token"], "code": totp.now()}
        status, pair, _ = _post(conn, "/api/auth/mfa/verify", verify)
        if status != 200 or "access_token" not in pair:
            errors.append(status)
            continue
        latencies.append(time.perf_counter() - started)


def main() -> None:
    """Seed, measure the bound, serve, sign in, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=5_000, help="bulk users with TOTP on")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15.0)
    opts = parser.parse_args()
    bound = measure.argon2_bound()
    with serving(USERMGMT, opts.workers, RESULTS / "logs" / "two-step-login.log") as root:
        seed(opts.users)  # once the server has migrated the database
        settle(root)
        latencies: list[float] = []
        errors: list[int] = []
        numbers = itertools.count(FIRST)  # next() of a count is atomic under the GIL
        window = measure.CpuWindow(root, USERMGMT.database)
        started = time.monotonic()
        deadline = started + opts.seconds
        last = FIRST + opts.users - 1
        threads = [
            threading.Thread(target=client, args=(numbers, last, deadline, latencies, errors))
            for _ in range(opts.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - started
        cpu = window.stop(0.0)
    latencies.sort()

    def ms(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    rate = len(latencies) / wall
    print(f"S9 two-step login with TOTP, {opts.workers} worker(s), {opts.clients} clients:")
    print(
        f"  {rate:.2f} logins/s against a hashing bound of {bound['bound_per_s']:.2f}/s "
        f"({rate / bound['bound_per_s']:.0%}; target 90 %), p50 {ms(0.5):,.0f} ms, "
        f"p99 {ms(0.99):,.0f} ms, errors {len(errors)} {sorted(set(errors))}"
    )
    print(
        f"  server {cpu['server_cores']:.2f} cores, PostgreSQL {cpu['postgres_cores']:.2f}, "
        f"the rest {cpu['foreign_cores']:.2f} (the clients, in this process, among it)"
    )


if __name__ == "__main__":
    main()
