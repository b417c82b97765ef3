"""The development signing secret: generated once, kept private in the data directory."""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from pathlib import Path
from typing import Final

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
