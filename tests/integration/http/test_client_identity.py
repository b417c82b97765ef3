"""Who a client is, for the per-client limits: the socket's peer, never a header."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import httpx
import psycopg
import pytest
from litestar import Request

from tests.integration.http.server import Served, serving
from usermgmt.entrypoints.http.limits import client_identifier


def _identifier(host: str) -> str:
    return client_identifier(Request({"type": "http", "client": (host, 50000)}))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
    ],
    ids=["same-ipv6-64", "ipv4-mapped"],
)
def test_addresses_of_one_block_are_one_client(first: str, second: str) -> None:
    """Every address of an IPv6 /64 is one client; a mapped IPv4 address is that address."""
    assert _identifier(first) == _identifier(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [("2001:db8:1:2::1", "2001:db8:1:3::1"), ("192.0.2.7", "192.0.2.8")],
    ids=["neighbouring-ipv6-64s", "neighbouring-ipv4"],
)
def test_addresses_of_different_blocks_are_different_clients(first: str, second: str) -> None:
    """The next /64, or the next IPv4 address, is somebody else."""
    assert _identifier(first) != _identifier(second)


@pytest.mark.parametrize("host", ["192.0.2.7", "x" * 3000, "\udcff\u202e", ""])
def test_the_identifier_is_a_fixed_size_digest_whatever_the_host(host: str) -> None:
    """No address, and nothing that is not one, reaches a store key as it came."""
    identifier = _identifier(host)

    assert len(identifier) == 64
    assert set(identifier) <= set("0123456789abcdef")


def test_forwarded_headers_from_loopback_do_not_change_the_client(
    empty_database: str, tmp_path: Path
) -> None:
    """Rotating or huge X-Forwarded-For values share the socket peer's budget, and never 503."""
    env = {"USERMGMT_DATA_DIR": str(tmp_path)}
    args = ("--database-url", empty_database, "--no-migrate", "--rate-limit-per-minute", "3")
    with serving(*args, env=env, log_dir=tmp_path) as server:
        huge = "203.0.113." + secrets.token_hex(1500)  # random: it does not compress to fit
        forwarded = [huge, "203.0.113.1", "198.51.100.2, 203.0.113.2", "::1"]
        statuses = [
            httpx.post(
                f"{server.url}/api/auth/refresh",
                json={"refresh_token": "unknown"},
                headers={"X-Forwarded-For": value, "X-Forwarded-Proto": "https"},
            ).status_code
            for value in forwarded
        ]
        log = server.log()
    with psycopg.connect(empty_database) as conn:
        keys = [key for (key,) in conn.execute("SELECT key FROM key_value_store")]

    assert statuses == [401, 401, 401, 429]
    assert " 503 " not in log
    assert keys
    assert all(len(key) == 64 and "203.0.113" not in key for key in keys)


def _refresh_statuses(server: Served, forwarded: list[str]) -> list[int]:
    return [
        httpx.post(
            f"{server.url}/api/auth/refresh",
            json={"refresh_token": "unknown"},
            headers={"X-Forwarded-For": value},
        ).status_code
        for value in forwarded
    ]


def test_a_configured_proxy_names_the_client_of_the_rate_limit(
    empty_database: str, tmp_path: Path
) -> None:
    """From a trusted proxy each forwarded client has its own budget, and its request id is kept."""
    env = {"USERMGMT_DATA_DIR": str(tmp_path), "USERMGMT_TRUSTED_PROXIES": "127.0.0.1"}
    args = ("--database-url", empty_database, "--no-migrate", "--rate-limit-per-minute", "3")
    with serving(*args, env=env, log_dir=tmp_path) as server:
        rotating = _refresh_statuses(server, [f"203.0.113.{n}" for n in range(1, 6)])
        one_client = _refresh_statuses(server, ["198.51.100.7"] * 4)
        forged_left = _refresh_statuses(server, ["192.0.2.99, 198.51.100.7"])
        kept = httpx.get(f"{server.url}/health", headers={"X-Request-ID": "lb-7f3a9c"})
        generated = httpx.get(f"{server.url}/no/such/route")
        log = server.log()

    assert rotating == [401] * 5
    assert one_client == [401, 401, 401, 429]
    assert forged_left == [429]  # what the client wrote left of the proxy's entry is not read
    assert "203.0.113.4 POST /api/auth/refresh 401" in log
    assert kept.headers["X-Request-ID"] == "lb-7f3a9c"
    assert "GET /health 200" in log
    assert "request_id=lb-7f3a9c" in log
    assert re.fullmatch("[0-9a-f]{32}", generated.headers["X-Request-ID"])


def test_the_login_throttle_counts_the_forwarded_client_behind_a_trusted_proxy(
    empty_database: str, tmp_path: Path
) -> None:
    """Failures from one forwarded client throttle that client only; from loopback, all share."""
    env = {"USERMGMT_DATA_DIR": str(tmp_path)}
    args = ("--database-url", empty_database, "--no-migrate", "--login-max-failures", "2")
    clients = ["203.0.113.1"] * 3 + ["203.0.113.2"]

    def login(server: Served, client: str) -> int:
        return httpx.post(
            f"{server.url}/api/auth/login",
            json={"email": "ann@example.org", "password": "wrong password here"},
            headers={"X-Forwarded-For": client},
        ).status_code

    with serving(*args, "--trusted-proxies", "127.0.0.0/8", env=env, log_dir=tmp_path) as server:
        trusted = [login(server, client) for client in clients]
    with psycopg.connect(empty_database, autocommit=True) as conn:
        conn.execute("DELETE FROM login_failures")
    with serving(*args, env=env, log_dir=tmp_path) as server:
        untrusted = [login(server, client) for client in clients]

    assert trusted == [401, 401, 429, 401]
    assert untrusted == [401, 401, 429, 429]
