"""``usermgmt keys``: new signing keys on disk, and the public keys the settings publish."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.integration.cli.conftest import SECRET, Cli
from usermgmt.adapters.tokens import thumbprint


@pytest.fixture
def keys_cli(tmp_path: Path) -> Cli:
    """The CLI with no signing key configured and no database: keys need neither."""
    return Cli(
        {
            "USERMGMT_DATABASE_URL": None,
            "USERMGMT_JWT_SECRET": None,
            "USERMGMT_JWT_PRIVATE_KEY": None,
            "USERMGMT_ENV": None,
            "USERMGMT_DATA_DIR": str(tmp_path / "data"),
        }
    )


def test_generate_writes_a_private_ed25519_pem_and_prints_its_kid(
    keys_cli: Cli, tmp_path: Path
) -> None:
    """Mode 0600, an unencrypted Ed25519 key, and the kid is its RFC 7638 thumbprint."""
    path = tmp_path / "signing.pem"

    result = keys_cli("keys", "generate", str(path))

    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    assert result.stdout == thumbprint(key.public_key()) + "\n"


def test_generate_is_0600_whatever_the_umask(keys_cli: Cli, tmp_path: Path) -> None:
    """A permissive umask does not widen the mode (nor a strict one narrow it)."""
    path = tmp_path / "signing.pem"
    previous = os.umask(0)
    try:
        result = keys_cli("keys", "generate", str(path))
    finally:
        os.umask(previous)

    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_printed_kid_is_the_kid_keys_show_publishes(keys_cli: Cli, tmp_path: Path) -> None:
    """What generate prints is what show (and so the JWKS route) lists for that key."""
    path = tmp_path / "signing.pem"
    kid = keys_cli("keys", "generate", str(path)).stdout.strip()

    shown = keys_cli("keys", "show", env={"USERMGMT_JWT_PRIVATE_KEY": str(path)})

    assert shown.exit_code == 0, shown.stderr
    [jwk] = json.loads(shown.stdout)["keys"]
    assert jwk["kid"] == kid
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    assert "d" not in jwk


def test_show_lists_every_configured_key_signing_key_first(keys_cli: Cli, tmp_path: Path) -> None:
    """With "new,old" both public keys are printed, the one that signs first."""
    new, old = tmp_path / "new.pem", tmp_path / "old.pem"
    kids = [keys_cli("keys", "generate", str(path)).stdout.strip() for path in (new, old)]

    shown = keys_cli("keys", "show", env={"USERMGMT_JWT_PRIVATE_KEY": f"{new},{old}"})

    assert shown.exit_code == 0, shown.stderr
    assert [jwk["kid"] for jwk in json.loads(shown.stdout)["keys"]] == kids


@pytest.mark.parametrize("kind", ["file", "symlink", "dangling-symlink"])
def test_generate_never_overwrites(keys_cli: Cli, tmp_path: Path, kind: str) -> None:
    """An existing file, or a link (even to nothing), is refused with exit 1 and left alone."""
    target = tmp_path / "precious"
    path = tmp_path / "signing.pem"
    if kind == "file":
        path.write_text("keep me")
    else:
        if kind == "symlink":
            target.write_text("keep me")
        path.symlink_to(target)

    result = keys_cli("keys", "generate", str(path))

    assert result.exit_code == 1
    assert result.stderr == f"Error: {path} already exists; a key file is never overwritten\n"
    assert result.stdout == ""
    if kind == "dangling-symlink":
        assert not target.exists()
    else:
        assert path.read_text() == "keep me"


def test_generate_into_a_missing_directory_says_why(keys_cli: Cli, tmp_path: Path) -> None:
    """An unwritable place is one error line, not a traceback."""
    path = tmp_path / "no-such-dir" / "signing.pem"

    result = keys_cli("keys", "generate", str(path))

    assert result.exit_code == 1
    assert result.stderr == f"Error: {path} cannot be written: No such file or directory\n"


def test_show_with_a_shared_secret_says_there_is_nothing_to_publish(keys_cli: Cli) -> None:
    """HS256 secrets are never printed: exit 1 and one line naming the setting to use."""
    result = keys_cli("keys", "show", env={"USERMGMT_JWT_SECRET": SECRET})

    assert result.exit_code == 1
    assert result.stdout == ""
    assert "USERMGMT_JWT_PRIVATE_KEY" in result.stderr
    assert SECRET not in result.stderr


def test_show_with_an_unusable_key_file_is_one_error_line(keys_cli: Cli, tmp_path: Path) -> None:
    """A key file that is not a key: exit 1 and the configuration error, not a traceback."""
    path = tmp_path / "not-a-key.pem"
    path.write_text("hello")

    result = keys_cli("keys", "show", env={"USERMGMT_JWT_PRIVATE_KEY": str(path)})

    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: USERMGMT_JWT_PRIVATE_KEY={path}: not a PEM")
    assert result.stderr.count("\n") == 1
