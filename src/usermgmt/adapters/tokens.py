"""Access tokens as JWTs (PyJWT): HS256 with shared secrets, or EdDSA with Ed25519 keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID

import jwt

from usermgmt.adapters.clock import SystemClock
from usermgmt.domain.errors import InvalidTokenError
from usermgmt.domain.model import PASSWORD_AMR, AccessClaims, Role, SessionId, TokenId, UserId
from usermgmt.ports import Clock

if TYPE_CHECKING:  # cryptography loads only with Ed25519 keys: HS256 goes without it
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

TOKEN_TYPE: Final = "at+jwt"  # noqa: S105 - a media type  # RFC 9068: tells an access token from any other JWT
_REQUIRED: Final = ["iss", "aud", "sub", "sid", "jti", "iat", "exp", "role"]
# Times are checked against the injected clock below, not PyJWT's wall clock.
_OPTIONS: Final[jwt.types.Options] = {
    "require": _REQUIRED,
    "verify_exp": False,
    "verify_iat": False,
    "verify_nbf": False,
}


_HEADER_FIELDS: Final = frozenset({"alg", "typ", "kid"})
"""Everything this codec writes into a header, and so everything it accepts there.

Any other member, ``jku``, ``x5u``, ``jwk``, ``x5c`` and ``crit`` included, is
refused rather than followed or ignored (RFC 8725 §3.10).
"""
_MAX_HEADER_CHARS: Final = 512
"""Our header segments are about 100 characters; a longer one is not ours and is not parsed."""
_MAX_KNOWN_HEADERS: Final = 4
"""Remembered header segments per key; ours write one, so this is slack, not a working set."""
_SECRET_KID_LABEL: Final = b"usermgmt key id"
VERIFIED_CACHE_SIZE: Final = 4096
"""Verified tokens remembered per codec: about 2.3 MiB when full, enough for every
client of a worker that signs in at most every few seconds of a token's lifetime."""


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _raw_public(key: Ed25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - see the imports

    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def thumbprint(key: Ed25519PublicKey) -> str:
    """Return the RFC 7638 JWK thumbprint of *key*: the ``kid`` of its tokens."""
    members = {"crv": "Ed25519", "kty": "OKP", "x": _b64url(_raw_public(key))}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return _b64url(hashlib.sha256(canonical).digest())


def secret_key_id(secret: bytes) -> str:
    """Return the ``kid`` of an HS256 *secret*: 96 bits of an HMAC keyed by it.

    An HMAC of a fixed label under the secret tells secrets apart and reveals
    nothing about them (it is as hard to invert as a token's own signature).
    """
    return _b64url(hmac.digest(secret, _SECRET_KID_LABEL, "sha256")[:12])


def load_private_key(private_key_pem: bytes) -> Ed25519PrivateKey:
    """Return the Ed25519 key in *private_key_pem*.

    Raises:
        ValueError: the PEM does not hold an unencrypted Ed25519 private key.
        TypeError: the key is encrypted (cryptography's way of asking for a passphrase).
    """
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - see the imports
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: PLC0415 - likewise
        Ed25519PrivateKey,
    )

    key = serialization.load_pem_private_key(private_key_pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        msg = "the private key is not an Ed25519 key"
        raise ValueError(msg)  # noqa: TRY004 - a wrong key is a value error to the caller
    return key


class JwtTokenCodec:
    """Signs access tokens with one key and verifies them with any of several.

    Every token names its key in ``kid``; verification looks that key up (one
    dict lookup on the header, parsed before any signature work), accepts
    only the one pinned algorithm (no ``none``, no HS/EdDSA confusion), only
    tokens typed ``at+jwt`` whose header holds nothing but ``alg``, ``typ``
    and ``kid``, and refuses an unknown ``kid``. It requires every claim and
    checks issuer, audience, and the times against the injected clock (so
    that tests can move time).

    A token that verified is remembered with its claims (at most
    *verified_cache_size* of them), so the next request with the same token
    skips the signature and the parsing, never the time checks: an expired
    token is refused on the first request after its expiry, cached or not.
    Only the exact string that verified can hit, so a client cannot fill the
    cache with anything but real tokens of ours, and the cache is bounded
    (emptied when full: the tokens in use come back at the cost of one
    verification each). The cache belongs to the codec, whose keys never
    change: new keys mean a new codec (at start-up), and with it an empty
    cache. Revocation is not the codec's business: the session is checked on
    every request whatever the codec says.
    """

    def __init__(  # noqa: PLR0913 - keyword-only options, each with a default but the keys
        self,
        *,
        algorithm: str,
        signing_key: bytes | Ed25519PrivateKey,
        key_id: str,
        verifying_keys: Mapping[str, bytes | Ed25519PublicKey],
        issuer: str = "usermgmt",
        audience: str = "usermgmt",
        leeway: timedelta = timedelta(0),
        clock: Clock | None = None,
        verified_cache_size: int = VERIFIED_CACHE_SIZE,
    ) -> None:
        """Use :meth:`hs256` or :meth:`eddsa` rather than this constructor."""
        if key_id not in verifying_keys:
            msg = "the signing key must also verify"
            raise ValueError(msg)
        self._algorithm = algorithm
        self._algorithms = [algorithm]  # the only one accepted: pinned
        self._signing_key = signing_key
        self._verifying_keys = dict(verifying_keys)  # in order, the signing key first
        # Header segments of tokens that verified, with their key: every token of
        # one key has the same header, so most decodes skip parsing it. Only
        # verified segments enter, so its size is bounded by the keys, not by clients.
        self._known_headers: dict[str, bytes | Ed25519PublicKey] = {}
        # Tokens that verified, with their claims and not-before instant.
        self._verified: dict[str, tuple[AccessClaims, datetime]] = {}
        self._verified_cache_size = verified_cache_size
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway
        self._clock = clock or SystemClock()
        self._headers: dict[str, Any] = {"typ": TOKEN_TYPE, "kid": key_id}

    @classmethod
    def hs256(
        cls,
        secret: bytes,
        *,
        previous: Sequence[bytes] = (),
        **options: Any,  # noqa: ANN401
    ) -> JwtTokenCodec:
        """Sign with HMAC-SHA256 under *secret*, used as the key exactly as given.

        Args:
            secret: the shared key that signs (and verifies).
            previous: earlier secrets that still verify, but never sign.
            options: *issuer*, *audience*, *leeway* and *clock*, as for the constructor.
        """
        keys: dict[str, bytes | Ed25519PublicKey] = {}
        for each in (secret, *previous):
            keys.setdefault(secret_key_id(each), each)  # in order: a repeat changes nothing
        return cls(
            algorithm="HS256",
            signing_key=secret,
            key_id=secret_key_id(secret),
            verifying_keys=keys,
            **options,
        )

    @classmethod
    def eddsa(
        cls,
        private_key_pem: bytes,
        *,
        previous: Sequence[bytes] = (),
        **options: Any,  # noqa: ANN401
    ) -> JwtTokenCodec:
        """Sign with the Ed25519 key in *private_key_pem*; ``kid`` is its RFC 7638 thumbprint.

        Args:
            private_key_pem: the key that signs (and verifies).
            previous: further private keys (PEM) whose public halves verify, but never sign.
            options: *issuer*, *audience*, *leeway* and *clock*, as for the constructor.

        Raises:
            ValueError: a PEM does not hold an unencrypted Ed25519 private key.
            TypeError: a PEM holds an encrypted key.
        """
        key = load_private_key(private_key_pem)
        publics = [key.public_key()] + [load_private_key(p).public_key() for p in previous]
        keys: dict[str, bytes | Ed25519PublicKey] = {}
        for public in publics:
            keys.setdefault(thumbprint(public), public)
        return cls(
            algorithm="EdDSA",
            signing_key=key,
            key_id=thumbprint(publics[0]),
            verifying_keys=keys,
            **options,
        )

    @property
    def key_id(self) -> str:
        """The ``kid`` of the key that signs."""
        return str(self._headers["kid"])

    def jwks(self) -> dict[str, list[dict[str, str]]] | None:
        """Return the public keys to publish, signing key first, or ``None`` for shared secrets."""
        if self._algorithm != "EdDSA":
            return None
        keys = [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": _b64url(_raw_public(public)),
                "kid": kid,
                "alg": "EdDSA",
                "use": "sig",
            }
            for kid, public in self._verifying_keys.items()
            if not isinstance(public, bytes)  # an EdDSA codec holds public keys only
        ]
        return {"keys": keys}

    def encode(self, claims: AccessClaims) -> str:
        """Return the signed token for *claims*."""
        payload = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(claims.subject),
            "sid": str(claims.session_id),
            "jti": str(claims.token_id),
            "iat": int(claims.issued_at.timestamp()),
            "exp": int(claims.expires_at.timestamp()),
            "role": claims.role.value,
            "amr": list(claims.amr),
        }
        return jwt.encode(
            payload, self._signing_key, algorithm=self._algorithm, headers=self._headers
        )

    def decode(self, token: str) -> AccessClaims:
        """Return the claims of a valid token.

        Raises:
            InvalidTokenError: for any defect at all; the cause is not revealed.
        """
        remembered = self._verified.get(token)
        fresh = remembered is None
        if remembered is None:
            remembered = self._verify(token)
        claims, not_before = remembered
        now = self._clock.now()
        if claims.expires_at <= now - self._leeway or not_before > now + self._leeway:
            raise InvalidTokenError
        if fresh and self._verified_cache_size:
            if len(self._verified) >= self._verified_cache_size:
                self._verified.clear()
            self._verified[token] = remembered
        return claims

    def _verify(self, token: str) -> tuple[AccessClaims, datetime]:
        """Check *token*'s header, signature and claims; return its claims and not-before.

        Raises:
            InvalidTokenError: for any defect at all.
        """
        segment = token.partition(".")[0]
        try:
            key = self._known_headers.get(segment)
            if key is None:
                key = self._verifying_key(segment)
            decoded = jwt.decode_complete(
                token,
                key,
                algorithms=self._algorithms,
                audience=self._audience,
                issuer=self._issuer,
                options=_OPTIONS,
            )
            payload = decoded["payload"]
            claims = AccessClaims(
                subject=UserId(UUID(payload["sub"])),
                session_id=SessionId(UUID(payload["sid"])),
                token_id=TokenId(UUID(payload["jti"])),
                role=Role(payload["role"]),
                issued_at=_instant(payload["iat"]),
                expires_at=_instant(payload["exp"]),
                amr=_amr(payload.get("amr", PASSWORD_AMR)),
            )
            not_before = _instant(payload["nbf"]) if "nbf" in payload else claims.issued_at
            if len(self._known_headers) < _MAX_KNOWN_HEADERS * len(self._verifying_keys):
                self._known_headers[segment] = key
        except (jwt.PyJWTError, ValueError, TypeError, KeyError, OverflowError, OSError):
            raise InvalidTokenError from None
        return claims, not_before

    def _verifying_key(self, segment: str) -> bytes | Ed25519PublicKey:
        """Return the key named by the header *segment*, after checking the header is one of ours.

        The signature that PyJWT then checks covers this same segment, so what
        is read here unverified is verified before anything is believed.

        Raises:
            InvalidTokenError: the header is malformed, foreign, or names no key of ours.
        """
        if len(segment) > _MAX_HEADER_CHARS:
            raise InvalidTokenError
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        if (
            not isinstance(header, dict)
            or header.keys() != _HEADER_FIELDS
            or header["alg"] != self._algorithm
            or header["typ"] != TOKEN_TYPE
        ):
            raise InvalidTokenError
        key = self._verifying_keys.get(header["kid"])  # a list or dict kid: TypeError, refused
        if key is None:
            raise InvalidTokenError
        return key


def _instant(value: object) -> datetime:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError  # NumericDate, as an integer: all this codec ever writes
    return datetime.fromtimestamp(value, UTC)


def _amr(value: object) -> tuple[str, ...]:
    """Read the ``amr`` claim: a list of method names (a token of an older release has none).

    Raises:
        TypeError: it is not a list of strings.
    """
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        msg = "amr must be a list of strings"
        raise TypeError(msg)
    return tuple(value)
