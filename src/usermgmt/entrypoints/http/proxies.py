"""Trusted proxies: the only peers whose forwarding headers are believed.

``USERMGMT_TRUSTED_PROXIES`` lists addresses and networks (default: none).
When the socket's peer is one of them, the request's client becomes the
address ``X-Forwarded-For`` names (read from the right, skipping the trusted
proxies that appended to it), its scheme what ``X-Forwarded-Proto`` says,
and its ``X-Request-ID`` is kept. From any other peer the three headers are
ignored: the client is the peer, whatever a header claims, so no client can
pick its own rate-limit budget, throttle key or audit address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Final

import attrs

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_SCHEMES: Final = frozenset({"http", "https"})


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped  # a dual-stack socket reports IPv4 peers this way
    return ip


@attrs.frozen
class Forwarded:
    """What a trusted proxy said about the request it passed on."""

    client: str | None
    """The client's address, or ``None``: keep the peer."""
    scheme: str | None
    """``http`` or ``https``, or ``None``: keep the connection's."""


class TrustedProxies:
    """The set of peers whose ``X-Forwarded-*`` and ``X-Request-ID`` headers are believed."""

    def __init__(self, networks: Iterable[str] = ()) -> None:
        """Trust the addresses and networks in *networks* (``"10.0.0.0/8"``, ``"::1"``)."""
        self._networks: tuple[_Network, ...] = tuple(
            ipaddress.ip_network(n, strict=True) for n in networks
        )

    def __bool__(self) -> bool:
        """Whether any peer is trusted at all."""
        return bool(self._networks)

    def trusts(self, host: str) -> bool:
        """Return whether *host* (a peer's or a forwarded address) is a trusted proxy."""
        ip = _address(host)
        return ip is not None and any(ip in network for network in self._networks)

    def forwarded(self, forwarded_for: str | None, forwarded_proto: str | None) -> Forwarded:
        """Read the forwarding headers of a request whose peer is trusted.

        The client is the right-most address of *forwarded_for* that is not a
        trusted proxy itself (every proxy appends the peer it saw); when the
        entry there is not an IP address, the last trusted hop is kept. The
        scheme is the last value of *forwarded_proto*, the one the nearest
        proxy set, when it is ``http`` or ``https``.
        """
        client = None
        if forwarded_for:
            for entry in reversed(forwarded_for.split(",")):
                ip = _address(entry)
                if ip is None:
                    break
                client = str(ip)
                if not any(ip in network for network in self._networks):
                    break
        scheme = None
        if forwarded_proto:
            last = forwarded_proto.rsplit(",", 1)[-1].strip().lower()
            scheme = last if last in _SCHEMES else None
        return Forwarded(client, scheme)
