"""Load shedding: a login flood gets fast 503s, the rest get in, and reads keep answering."""

from __future__ import annotations

import asyncio
import json
import re
import statistics
from pathlib import Path

import anyio
import httpx
import pytest

from tests.conftest import TEST_SECRET
from tests.integration.http.server import serving
from usermgmt import Settings, UserManagement

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

PASSWORD = "correct horse battery staple"
JSON = {"Content-Type": "application/json"}
# Above OWASP's floor for argon2id, on one lane: some 35 ms a hash here, so 150 logins are
# about 5 seconds of work, far more than the 2 seconds the hasher lets wait, on any machine
# (with a lane per core, a fast machine could get through them all within the 2 seconds).
ARGON2 = {
    "USERMGMT_ARGON2_TIME_COST": "3",
    "USERMGMT_ARGON2_MEMORY_COST": "19456",
    "USERMGMT_ARGON2_PARALLELISM": "1",
    "USERMGMT_HASH_CONCURRENCY": "1",
}
FLOOD = 150
LOG_LINE = re.compile(r"POST /api/auth/login (\d{3}) ([\d.]+)ms request_id=\S+$", re.MULTILINE)


async def _send_all_at_once(port: int, raw: bytes, count: int) -> list[bytes]:
    """Open *count* connections, then send *raw* on all of them at once; return each answer."""
    streams = await asyncio.gather(
        *(asyncio.open_connection("127.0.0.1", port) for _ in range(count))
    )
    for _, writer in streams:
        writer.write(raw)
    answers = await asyncio.gather(*(reader.read() for reader, _ in streams))
    for _, writer in streams:
        writer.close()
    return answers


def _status_and_headers(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines)}
    return int(status_line.split()[1]), headers, body


async def test_a_login_flood_is_shed_fast_while_reads_still_answer(
    empty_database: str, tmp_path: Path
) -> None:
    """150 logins at once: the excess gets 503 with Retry-After at once; reads keep answering."""
    settings = Settings(
        jwt_secret=TEST_SECRET,
        argon2_time_cost=3,
        argon2_memory_cost=19456,
        argon2_parallelism=1,
        data_dir=tmp_path,
    )
    with UserManagement.from_url(empty_database, settings).blocking() as um:
        um.register_user("ann@example.org", PASSWORD)
    env = {"USERMGMT_DATA_DIR": str(tmp_path), **ARGON2}
    # One account from one address: the login throttle would count these at once (each is
    # counted before its password is checked), so it is lifted to measure shedding alone.
    args = (
        *("--database-url", empty_database, "--no-migrate", "--rate-limit-per-minute", "0"),
        *("--login-max-failures", "0", "--login-max-failures-per-account", "0"),
    )
    body = json.dumps({"email": "ann@example.org", "password": PASSWORD}).encode()
    raw = (
        b"POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    reads: list[int] = []

    with serving(*args, env=env, log_dir=tmp_path) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            first = await client.post("/api/auth/login", content=body, headers=JSON)
            bearer = {"Authorization": f"Bearer {first.json()['access_token']}"}
            flooding = True  # that first login timed one hash for the hasher's estimate

            async def read_meanwhile() -> None:
                while flooding:
                    me = await client.get("/api/auth/me", headers=bearer)
                    reads.append(me.status_code)
                    await anyio.sleep(0.05)

            async with anyio.create_task_group() as tg:
                tg.start_soon(read_meanwhile)
                answers = await _send_all_at_once(server.port, raw, FLOOD)
                flooding = False
        log = server.log()

    parsed = [_status_and_headers(answer) for answer in answers]
    statuses = [status for status, _, _ in parsed]
    assert set(statuses) == {200, 503}, sorted(set(statuses))
    for status, headers, problem in parsed:
        if status == 503:
            assert json.loads(problem)["type"] == "/problems/overloaded"
            assert int(headers["retry-after"]) >= 1
    # As the server timed them: a refusal waits for no hashing, an admitted login for its
    # turn. (Both wait for the event loop, which 150 requests at once keep busy for a while.)
    timed = [(int(status), float(ms)) for status, ms in LOG_LINE.findall(log)]
    refused_ms = [ms for status, ms in timed if status == 503]
    admitted_ms = [ms for status, ms in timed if status == 200]
    assert len(refused_ms) == statuses.count(503)
    assert statistics.median(refused_ms) < statistics.median(admitted_ms)
    assert max(refused_ms) < max(admitted_ms)
    assert len(reads) >= 3
    assert set(reads) == {200}
    assert "Traceback" not in log
