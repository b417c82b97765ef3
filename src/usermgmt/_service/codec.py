"""The token codec a service signs and checks access tokens with, built from settings.

Ed25519 keys from ``USERMGMT_JWT_PRIVATE_KEY`` (the first signs, the others
only verify), else HS256 shared secrets, else a development secret kept in
the data directory; a key file that cannot serve is refused in one line that
says why. :class:`LazyCodec` builds the codec on first use, and PyJWT and
cryptography are imported only then: a command that never signs or checks a
token (``usermgmt users list``) does not load them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from usermgmt.domain.errors import ConfigurationError
from usermgmt.domain.model import AccessClaims
from usermgmt.ports import Clock
from usermgmt.settings import Settings

if TYPE_CHECKING:
    from usermgmt.adapters.tokens import JwtTokenCodec

_MAX_KEY_BYTES = 64 * 1024
"""An Ed25519 PEM key is about 120 bytes; a file much larger is not one (or is /dev/zero)."""


def key_file(path: Path) -> bytes:
    """Return the Ed25519 private key PEM at *path*, or say in one line what is wrong with it.

    Raises:
        ConfigurationError: the file is unreadable, encrypted, not a PEM private
            key, or not an Ed25519 key.
    """
    from cryptography.exceptions import UnsupportedAlgorithm  # noqa: PLC0415 - see the module

    from usermgmt.adapters.tokens import load_private_key  # noqa: PLC0415 - likewise

    prefix = f"USERMGMT_JWT_PRIVATE_KEY={path}"
    try:
        with path.open("rb") as file:
            pem = file.read(_MAX_KEY_BYTES + 1)
    except OSError as exc:
        raise ConfigurationError(f"{prefix}: cannot be read: {exc.strerror or exc}") from None
    if len(pem) > _MAX_KEY_BYTES:
        raise ConfigurationError(f"{prefix}: is larger than 64 KiB, not a PEM key")
    try:
        load_private_key(pem)
    except TypeError:  # cryptography's way of saying that a passphrase is needed
        msg = f"{prefix}: the key is encrypted; give an unencrypted Ed25519 PEM key"
    except UnsupportedAlgorithm:
        msg = f"{prefix}: the key's algorithm is not supported; give an Ed25519 PEM key"
    except ValueError:  # cryptography's own message carries a link and a parser trace
        kind = (
            "a private key, but not an Ed25519 one"
            if _is_private_key(pem)
            else "not a PEM private key"
        )
        msg = f"{prefix}: {kind}; give an unencrypted Ed25519 private key in PEM"
    else:
        return pem
    raise ConfigurationError(msg)


def _is_private_key(pem: bytes) -> bool:
    from cryptography.exceptions import UnsupportedAlgorithm  # noqa: PLC0415 - see the module
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - likewise

    try:
        serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def token_codec(settings: Settings, clock: Clock) -> JwtTokenCodec:
    """Return the codec the settings ask for: Ed25519 keys, shared secrets, or a dev secret.

    The first key (or the secret) signs; the others only verify.

    Raises:
        ConfigurationError: the settings are unsafe, or the key is unusable.
    """
    from usermgmt.adapters.keys import development_secret  # noqa: PLC0415 - see the module
    from usermgmt.adapters.tokens import JwtTokenCodec  # noqa: PLC0415 - likewise

    settings.check()
    options: dict[str, Any] = {
        "issuer": settings.jwt_issuer,
        "audience": settings.jwt_audience,
        "clock": clock,
    }
    if settings.jwt_private_key:
        signing, *verifying = (key_file(path) for path in settings.jwt_private_key)
        return JwtTokenCodec.eddsa(signing, previous=verifying, **options)
    previous = [secret.encode("utf-8") for secret in settings.jwt_previous_secrets]
    secret = (
        settings.jwt_secret.encode("utf-8")
        if settings.jwt_secret
        else development_secret(settings.data_dir)
    )
    return JwtTokenCodec.hs256(secret, previous=previous, **options)


class LazyCodec:
    """The token codec, built on first use.

    Commands that never sign or check a token (migrations, user administration)
    then need no signing key, and a development secret is generated only by
    the processes that use it.
    """

    def __init__(self, settings: Settings, clock: Clock) -> None:
        """Remember what to build the codec from."""
        self._settings = settings
        self._clock = clock
        self._codec: JwtTokenCodec | None = None

    def resolve(self) -> JwtTokenCodec:
        """Return the codec, building it now if need be.

        Raises:
            ConfigurationError: the signing key is missing, unreadable or unsafe.
        """
        if self._codec is None:
            self._codec = token_codec(self._settings, self._clock)
        return self._codec

    def encode(self, claims: AccessClaims) -> str:
        """Sign *claims* (see ``TokenCodec.encode``)."""
        return self.resolve().encode(claims)

    def decode(self, token: str) -> AccessClaims:
        """Check *token* (see ``TokenCodec.decode``)."""
        return self.resolve().decode(token)
