"""Key files: the development signing secret, and new Ed25519 signing keys."""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from pathlib import Path
from typing import Final

from usermgmt.adapters.tokens import thumbprint

log = logging.getLogger("usermgmt")

SECRET_FILE: Final = "jwt-secret"  # noqa: S105 - a file name


def development_secret(data_dir: Path) -> bytes:
    """Return the secret stored in *data_dir*, creating it (mode 0600) if there is none.

    Safe when several worker processes start at once: the file is written
    whole under a temporary name and then linked into place, so a reader sees
    either no file or the complete secret, and only one writer wins.
    """
    path = data_dir / SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temporary = tempfile.mkstemp(dir=data_dir, prefix=".jwt-secret-")  # mode 0600
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32) + "\n")
            os.link(temporary, path)
            log.warning(
                "no USERMGMT_JWT_SECRET set: generated a development signing secret in %s", path
            )
        except FileExistsError:
            pass  # another process won the race; use its secret
        finally:
            Path(temporary).unlink()
    return path.read_text(encoding="ascii").strip().encode("ascii")


def write_signing_key(path: Path) -> str:
    """Write a new Ed25519 private key to *path* as unencrypted PKCS #8 PEM; return its ``kid``.

    The file is created with mode 0600 and never replaces anything: not a
    file, not a symbolic link (even a dangling one).

    Raises:
        FileExistsError: something already exists at *path*.
        OSError: the file cannot be written (the partial file is removed).
    """
    # cryptography loads here, not with the module: a server with HS256 secrets goes without it.
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - see above
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: PLC0415 - likewise
        Ed25519PrivateKey,
    )

    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)  # exactly 0600, whatever the umask
        with os.fdopen(fd, "wb", closefd=False) as out:
            out.write(pem)
    except OSError:
        path.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)
    return thumbprint(key.public_key())
