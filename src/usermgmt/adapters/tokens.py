"""Access tokens as JWTs (PyJWT): HS256 with a shared secret, or EdDSA with an Ed25519 key."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from uuid import UUID

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from usermgmt.adapters.clock import SystemClock
from usermgmt.domain.errors import InvalidTokenError
from usermgmt.domain.model import AccessClaims, Role, SessionId, TokenId, UserId
from usermgmt.ports import Clock

TOKEN_TYPE: Final = "at+jwt"  # noqa: S105 - a media type  # RFC 9068: tells an access token from any other JWT
_REQUIRED: Final = ["iss", "aud", "sub", "sid", "jti", "iat", "exp", "role"]
# Times are checked against the injected clock below, not PyJWT's wall clock.
_OPTIONS: Final[jwt.types.Options] = {
    "require": _REQUIRED,
    "verify_exp": False,
    "verify_iat": False,
    "verify_nbf": False,
}


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


class JwtTokenCodec:
    """Signs and verifies access tokens with one pinned algorithm.

    Verification accepts only that algorithm (no ``none``, no HS/RS confusion),
    only tokens typed ``at+jwt`` and, with EdDSA, only this key's ``kid``; it
    requires every claim and checks issuer, audience, and the times against the
    injected clock (so that tests can move time).
    """

    def __init__(
        self,
        *,
        algorithm: str,
        signing_key: bytes | Ed25519PrivateKey,
        verifying_key: bytes | Ed25519PublicKey,
        key_id: str | None = None,
        issuer: str = "usermgmt",
        audience: str = "usermgmt",
        leeway: timedelta = timedelta(0),
        clock: Clock | None = None,
    ) -> None:
        """Use :meth:`hs256` or :meth:`eddsa` rather than this constructor."""
        self._algorithm = algorithm
        self._algorithms = [algorithm]  # the only one accepted: pinned
        self._signing_key = signing_key
        self._verifying_key = verifying_key
        self._key_id = key_id
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway
        self._clock = clock or SystemClock()
        self._headers: dict[str, Any] = {"typ": TOKEN_TYPE}
        if key_id is not None:
            self._headers["kid"] = key_id

    @classmethod
    def hs256(cls, secret: bytes, **options: Any) -> JwtTokenCodec:  # noqa: ANN401
        """Sign with HMAC-SHA256 under *secret*, used as the key exactly as given.

        Args:
            secret: the shared key.
            options: *issuer*, *audience*, *leeway* and *clock*, as for the constructor.
        """
        return cls(algorithm="HS256", signing_key=secret, verifying_key=secret, **options)

    @classmethod
    def eddsa(cls, private_key_pem: bytes, **options: Any) -> JwtTokenCodec:  # noqa: ANN401
        """Sign with the Ed25519 key in *private_key_pem*; ``kid`` is its RFC 7638 thumbprint.

        Raises:
            ValueError: the PEM does not hold an unencrypted Ed25519 private key.
        """
        key = serialization.load_pem_private_key(private_key_pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            msg = "the private key is not an Ed25519 key"
            raise ValueError(msg)  # noqa: TRY004 - a wrong key is a value error to the caller
        public = key.public_key()
        x = _b64url(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
        thumbprint = hashlib.sha256(
            json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":")).encode()
        ).digest()
        return cls(
            algorithm="EdDSA",
            signing_key=key,
            verifying_key=public,
            key_id=_b64url(thumbprint),
            **options,
        )

    def jwks(self) -> dict[str, list[dict[str, str]]] | None:
        """Return the public key set to publish, or ``None`` for a shared secret."""
        if not isinstance(self._verifying_key, Ed25519PublicKey) or self._key_id is None:
            return None
        raw = self._verifying_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        key = {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": _b64url(raw),
            "kid": self._key_id,
            "alg": "EdDSA",
            "use": "sig",
        }
        return {"keys": [key]}

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
        }
        return jwt.encode(
            payload, self._signing_key, algorithm=self._algorithm, headers=self._headers
        )

    def decode(self, token: str) -> AccessClaims:
        """Return the claims of a valid token.

        Raises:
            InvalidTokenError: for any defect at all; the cause is not revealed.
        """
        try:
            decoded = jwt.decode_complete(
                token,
                self._verifying_key,
                algorithms=self._algorithms,
                audience=self._audience,
                issuer=self._issuer,
                options=_OPTIONS,
            )
            header, payload = decoded["header"], decoded["payload"]
            # The signature covers the header, so checking it after verification is sound.
            if header.get("typ") != TOKEN_TYPE or header.get("kid") != self._key_id:
                raise InvalidTokenError
            claims = AccessClaims(
                subject=UserId(UUID(payload["sub"])),
                session_id=SessionId(UUID(payload["sid"])),
                token_id=TokenId(UUID(payload["jti"])),
                role=Role(payload["role"]),
                issued_at=_instant(payload["iat"]),
                expires_at=_instant(payload["exp"]),
            )
            not_before = _instant(payload["nbf"]) if "nbf" in payload else claims.issued_at
        except (jwt.PyJWTError, ValueError, TypeError, KeyError, OverflowError, OSError):
            raise InvalidTokenError from None
        now = self._clock.now()
        if claims.expires_at <= now - self._leeway or not_before > now + self._leeway:
            raise InvalidTokenError
        return claims


def _instant(value: object) -> datetime:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError  # NumericDate, as an integer: all this codec ever writes
    return datetime.fromtimestamp(value, UTC)
