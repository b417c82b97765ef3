"""Who a client is, for the per-client limits: the socket's peer, never a header."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import psycopg
import pytest
from litestar import Request

from tests.integration.http.server import serving
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
