"""The signing key file: every way it can be wrong is one clear ConfigurationError."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from usermgmt import ConfigurationError, Settings, UserManagement

_PKCS8 = serialization.PrivateFormat.PKCS8
_PEM = serialization.Encoding.PEM


def _encrypted() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        _PEM, _PKCS8, serialization.BestAvailableEncryption(b"passphrase")
    )


def _public() -> bytes:
    return (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(_PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def _elliptic() -> bytes:
    return generate_private_key(SECP256R1()).private_bytes(
        _PEM, _PKCS8, serialization.NoEncryption()
    )


BAD_KEYS: dict[str, tuple[Callable[[], bytes], str]] = {
    "encrypted": (_encrypted, "encrypted"),
    "malformed-pem": (
        lambda: b"-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n",
        "not a PEM private key",
    ),
    "binary": (lambda: bytes(range(256)), "not a PEM private key"),
    "public-key": (_public, "not a PEM private key"),
    "not-ed25519": (_elliptic, "not an Ed25519 one"),
    "huge": (lambda: b"-" * (65 * 1024), "larger than 64 KiB"),
}


@pytest.mark.parametrize("kind", BAD_KEYS)
def test_an_unusable_key_file_is_a_configuration_error_saying_why(
    tmp_path: Path, kind: str
) -> None:
    """One line naming the variable, the file and what is wrong; never a raw library error."""
    make, reason = BAD_KEYS[kind]
    path = tmp_path / "key.pem"
    path.write_bytes(make())
    um = UserManagement.in_memory(Settings(jwt_private_key=path, data_dir=tmp_path))

    with pytest.raises(ConfigurationError) as refused:
        um.jwks()

    message = str(refused.value)
    assert message.startswith(f"USERMGMT_JWT_PRIVATE_KEY={path}: ")
    assert reason in message
    assert "\n" not in message
    assert "cryptography.io" not in message


@pytest.mark.parametrize("name", ["missing.pem", "."], ids=["missing", "directory"])
def test_an_unreadable_key_path_is_a_configuration_error(tmp_path: Path, name: str) -> None:
    """A missing file or a directory says that it cannot be read, and why."""
    path = tmp_path / name
    um = UserManagement.in_memory(Settings(jwt_private_key=path, data_dir=tmp_path))

    with pytest.raises(ConfigurationError, match="cannot be read"):
        um.jwks()


def test_an_unencrypted_ed25519_key_signs(tmp_path: Path) -> None:
    """The right kind of file loads, and publishes its public key."""
    path = tmp_path / "key.pem"
    path.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(_PEM, _PKCS8, serialization.NoEncryption())
    )
    um = UserManagement.in_memory(Settings(jwt_private_key=path, data_dir=tmp_path))

    keys = um.jwks()

    assert keys is not None
    assert keys["keys"][0]["crv"] == "Ed25519"
