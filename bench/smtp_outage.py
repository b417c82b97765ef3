"""No request waits on SMTP: registration and forgot-password timed with the server up and down.

Starts a real SMTP server (aiosmtpd, in this process, on a free port) and
``usermgmt serve`` on a fresh database (``bench_smtp`` on ``BENCH_PG``,
default ``postgresql://postgres@127.0.0.1:5432``) with ``USERMGMT_MAIL_URL``
pointing at it. Then three phases, one after the other: SMTP up, SMTP
stopped (its port closed: every delivery attempt fails), SMTP up again. In
each, ``--registrations`` registrations (each queues a verification mail)
and ``--forgots`` forgot-password requests for those addresses (each may
queue a reset mail) are sent one at a time and timed, round trip included.
It prints the median and p90 of each kind per phase, the answers' statuses,
and, at the end, how many messages the SMTP server received and how many
mail events the outbox still holds undelivered after waiting up to
``--drain`` seconds for the retries (1 s, doubling).

    .venv/bin/python bench/smtp_outage.py          # needs the dev group (aiosmtpd)
    .venv/bin/python bench/smtp_outage.py --registrations 20 --forgots 100
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psycopg
from aiosmtpd.controller import Controller
from psycopg import sql

SERVER = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
NAME = "bench_smtp"
PORT = 18121
PASSWORD = "quartz-lantern-47-meadow"  # noqa: S105 - benchmark data
SECRET = "bench-only-signing-secret-0123456789abcdef"  # noqa: S105 - benchmark data


class Inbox:
    """What the SMTP server received."""

    def __init__(self) -> None:
        """Start empty."""
        self.messages = 0

    async def handle_DATA(self, *_: object) -> str:  # noqa: N802 - aiosmtpd's hook name
        """Count the message and accept it."""
        self.messages += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fresh_database() -> str:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(NAME))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(NAME)))
    return f"{SERVER}/{NAME}"


def wait_ready(proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("usermgmt serve exited before answering")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
            conn.request("GET", "/health/ready")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit("usermgmt serve did not become ready")


def timed_post(
    conn: http.client.HTTPConnection, path: str, body: dict[str, str]
) -> tuple[float, int]:
    started = time.perf_counter()
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    return time.perf_counter() - started, response.status


def phase(label: str, first: int, opts: argparse.Namespace) -> dict[str, list[float]]:
    """Register users first..first+n-1, then ask forgot for them round-robin; time each."""
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    times: dict[str, list[float]] = {"register": [], "forgot": []}
    statuses: Counter[str] = Counter()
    emails = [f"smtp{n}@example.org" for n in range(first, first + opts.registrations)]
    for email in emails:
        elapsed, status = timed_post(
            conn, "/api/users/register", {"email": email, "password": PASSWORD}
        )
        times["register"].append(elapsed)
        statuses[f"register {status}"] += 1
    for i in range(opts.forgots):
        elapsed, status = timed_post(
            conn, "/api/auth/password/forgot", {"email": emails[i % len(emails)]}
        )
        times["forgot"].append(elapsed)
        statuses[f"forgot {status}"] += 1
    conn.close()
    for kind, values in times.items():
        values.sort()
        p90 = values[int(0.9 * (len(values) - 1))]
        print(
            f"  {label:<14} {kind:<9} median {statistics.median(values) * 1000:8.1f} ms"
            f"   p90 {p90 * 1000:8.1f} ms   ({len(values)} requests)"
        )
    print(f"  {label:<14} answers: {dict(sorted(statuses.items()))}")
    return times


def main() -> None:
    """Run the three phases and report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registrations", type=int, default=12)
    parser.add_argument("--forgots", type=int, default=60)
    parser.add_argument("--drain", type=float, default=60.0)
    opts = parser.parse_args()

    inbox = Inbox()
    smtp_port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port, ready_timeout=10)
    smtp.start()
    dsn = fresh_database()
    env = dict(os.environ) | {
        "USERMGMT_ENV": "production",
        "USERMGMT_DATABASE_URL": dsn,
        "USERMGMT_JWT_SECRET": SECRET,
        "USERMGMT_RATE_LIMIT_PER_MINUTE": "0",
        "USERMGMT_MAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
    }
    exe = Path(sys.executable).with_name("usermgmt")
    log = Path(__file__).resolve().parent / "results" / "logs" / "smtp-outage-serve.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(exe), "serve", "--host", "127.0.0.1", "--port", str(PORT)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_ready(server)
            print(f"usermgmt serve on :{PORT}, mail to smtp://127.0.0.1:{smtp_port} (log: {log})")
            phase("SMTP up", 1, opts)
            smtp.stop()
            phase("SMTP stopped", 1_001, opts)
            smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port, ready_timeout=10)
            smtp.start()
            phase("SMTP up again", 2_001, opts)
            waiting = (
                "SELECT count(*) FROM event_outbox WHERE delivered_at IS NULL AND failed_at IS NULL"
            )
            deadline = time.monotonic() + opts.drain
            with psycopg.connect(dsn, autocommit=True) as conn:
                while (left := conn.execute(waiting).fetchone()[0]) and time.monotonic() < deadline:  # type: ignore[index]
                    time.sleep(1)
                failed = conn.execute(
                    "SELECT count(*) FROM event_outbox WHERE failed_at IS NOT NULL"
                ).fetchone()[0]  # type: ignore[index]
            print(
                f"after the outage: {inbox.messages} messages received by the SMTP server; "
                f"{left} events still waiting, {failed} given up"
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
            smtp.stop()


if __name__ == "__main__":
    main()
