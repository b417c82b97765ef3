"""Who sent a request: trusted proxies, forwarded headers, request ids and the request context."""

from __future__ import annotations

import json
import logging
from typing import Any

import anyio
import pytest

from usermgmt import ConfigurationError
from usermgmt.domain.context import (
    NO_REQUEST,
    RequestContext,
    current_request,
    request_context,
)
from usermgmt.domain.model import USER_AGENT_MAX_LENGTH
from usermgmt.entrypoints.http.access_log import AccessLog
from usermgmt.entrypoints.http.proxies import TrustedProxies
from usermgmt.entrypoints.logformat import JsonFormatter
from usermgmt.settings import Settings

pytestmark = pytest.mark.anyio

PROXY = "10.0.0.5"


class _Echo:
    """An ASGI app that answers 204 and remembers what it saw of the request."""

    def __init__(self) -> None:
        self.seen: dict[str, Any] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.seen = {
            "client": scope["client"],
            "scheme": scope["scheme"],
            "context": current_request(),
        }
        scope["path_template"] = "/things/{id}"
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def _serve(
    trusted: tuple[str, ...], peer: str, headers: dict[str, str]
) -> tuple[_Echo, dict[bytes, bytes]]:
    app = _Echo()
    wrapped = AccessLog(app, proxies=TrustedProxies(trusted))
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/things/1",
        "scheme": "http",
        "client": (peer, 40000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await wrapped(scope, receive, send)  # type: ignore[arg-type]
    return app, dict(sent[0]["headers"])


FORGED = {
    "X-Forwarded-For": "203.0.113.9",
    "X-Forwarded-Proto": "https",
    "X-Request-ID": "from-the-client",
}


async def test_no_proxy_is_trusted_by_default() -> None:
    """Out of the box, forwarded headers from loopback change nothing."""
    app, headers = await _serve((), "127.0.0.1", FORGED)

    assert app.seen["client"] == ("127.0.0.1", 40000)
    assert app.seen["scheme"] == "http"
    assert headers[b"x-request-id"] != b"from-the-client"


async def test_headers_from_an_untrusted_peer_are_ignored() -> None:
    """A peer outside the trusted networks is the client, whatever it forwards."""
    app, headers = await _serve(("10.0.0.0/8",), "192.0.2.1", FORGED)

    assert app.seen["client"] == ("192.0.2.1", 40000)
    assert app.seen["scheme"] == "http"
    assert app.seen["context"].ip == "192.0.2.1"
    assert headers[b"x-request-id"] != b"from-the-client"


async def test_a_trusted_proxy_names_the_client_scheme_and_request_id() -> None:
    """From a trusted peer, the forwarded address, scheme and id are believed."""
    app, headers = await _serve(("10.0.0.0/8",), PROXY, {**FORGED, "User-Agent": "curl/8"})

    assert app.seen["client"] == ("203.0.113.9", 0)
    assert app.seen["scheme"] == "https"
    assert app.seen["context"] == RequestContext(
        ip="203.0.113.9", user_agent="curl/8", request_id="from-the-client"
    )
    assert headers[b"x-request-id"] == b"from-the-client"


@pytest.mark.parametrize(
    ("forwarded_for", "client"),
    [
        ("198.51.100.1, 203.0.113.9", "203.0.113.9"),  # the client forged the left entry
        ("203.0.113.9, 10.0.0.7", "203.0.113.9"),  # a second trusted proxy in the chain
        ("10.0.0.8, 10.0.0.7", "10.0.0.8"),  # only proxies: the farthest one
        ("unknown", PROXY),  # not an address: the peer stays the client
        ("garbage, 10.0.0.7", "10.0.0.7"),  # the last trusted hop that named an address
        ("::ffff:203.0.113.9", "203.0.113.9"),  # a mapped IPv4 address is that address
        ("", PROXY),
    ],
)
async def test_the_client_is_the_rightmost_untrusted_forwarded_address(
    forwarded_for: str, client: str
) -> None:
    """Entries left of the first untrusted address are the client's to forge, so unread."""
    app, _ = await _serve(("10.0.0.0/8",), PROXY, {"X-Forwarded-For": forwarded_for})

    assert app.seen["client"][0] == client


async def test_several_forwarded_for_fields_are_one_list() -> None:
    """Two X-Forwarded-For fields read as one comma-separated list, in order."""
    app = _Echo()
    wrapped = AccessLog(app, proxies=TrustedProxies(("10.0.0.0/8",)))
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "scheme": "http",
        "client": (PROXY, 1),
        "headers": [(b"x-forwarded-for", b"198.51.100.1"), (b"x-forwarded-for", b"203.0.113.9")],
    }

    async def send(_: object) -> None:
        return None

    await wrapped(scope, None, send)  # type: ignore[arg-type]

    assert app.seen["client"][0] == "203.0.113.9"


@pytest.mark.parametrize("sent", ["a" * 129, "two words", "caf\u00e9", ""])
async def test_a_malformed_forwarded_request_id_is_replaced(sent: str) -> None:
    """Only visible ASCII up to 128 characters is kept, even from a trusted proxy."""
    _, headers = await _serve(("10.0.0.5",), PROXY, {"X-Request-ID": sent})

    assert headers[b"x-request-id"] != sent.encode()
    assert len(headers[b"x-request-id"]) == 32


async def test_every_request_gets_its_own_id() -> None:
    """Generated ids are 128 random bits in hex, different for each request."""
    ids = {(await _serve((), "127.0.0.1", {}))[1][b"x-request-id"] for _ in range(20)}

    assert len(ids) == 20
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


async def test_the_request_context_is_gone_after_the_request() -> None:
    """Outside a request the context is empty again: nothing leaks into the next one."""
    app, _ = await _serve((), "127.0.0.1", {"User-Agent": "x" * 2000})

    assert app.seen["context"].user_agent == "x" * USER_AGENT_MAX_LENGTH
    assert current_request() is NO_REQUEST


async def test_concurrent_requests_each_see_their_own_context() -> None:
    """Two requests served at once never see each other's id or address."""
    seen: dict[str, str] = {}
    addresses = ("192.0.2.1", "192.0.2.2", "192.0.2.3")

    async def one(ip: str) -> None:
        with request_context(RequestContext(ip=ip, request_id=ip)):
            await anyio.sleep(0.01)
            seen[ip] = current_request().request_id

    async with anyio.create_task_group() as tasks:
        for ip in addresses:
            tasks.start_soon(one, ip)

    assert seen == {ip: ip for ip in addresses}


def test_the_json_format_is_one_object_per_line_with_the_request_id() -> None:
    """A record logged during a request carries its id; a newline stays inside the string."""
    record = logging.LogRecord("usermgmt", logging.WARNING, __file__, 1, "two\nlines", (), None)

    with request_context(RequestContext(request_id="abc")):
        line = JsonFormatter().format(record)

    assert "\n" not in line
    entry = json.loads(line)
    assert entry["event"] == "two\nlines"
    assert entry["level"] == "warning"
    assert entry["request_id"] == "abc"
    assert entry["time"].endswith("+00:00")


def test_the_access_line_in_json_names_route_status_duration_and_client() -> None:
    """The access record's own fields become the object's keys."""
    fields = {"event": "request", "route": "/x/{id}", "status": 200, "client_ip": "192.0.2.1"}
    record = logging.LogRecord("usermgmt.http", logging.INFO, __file__, 1, "text", (), None)
    record.usermgmt = fields

    entry = json.loads(JsonFormatter().format(record))

    assert entry["event"] == "request"
    assert entry["route"] == "/x/{id}"
    assert entry["status"] == 200
    assert entry["client_ip"] == "192.0.2.1"


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("10.0.0.0/8, 192.0.2.1", ("10.0.0.0/8", "192.0.2.1/32")),
        ("::1,2001:db8::/32", ("::1/128", "2001:db8::/32")),
        ("", ()),
    ],
)
def test_trusted_proxies_are_addresses_or_networks(raw: str, parsed: tuple[str, ...]) -> None:
    """The setting takes comma-separated addresses and CIDR networks."""
    assert Settings.from_env({"USERMGMT_TRUSTED_PROXIES": raw}).trusted_proxies == parsed


@pytest.mark.parametrize("raw", ["10.0.0.1/8", "proxy.example.org", "10.0.0.0/33"])
def test_a_malformed_trusted_proxy_is_refused(raw: str) -> None:
    """A host name, a network with host bits set or a bad prefix is a configuration error."""
    with pytest.raises(ConfigurationError, match="USERMGMT_TRUSTED_PROXIES"):
        Settings.from_env({"USERMGMT_TRUSTED_PROXIES": raw})
