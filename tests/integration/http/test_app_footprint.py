"""What building the HTTP application loads: nothing a worker does not use."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import TEST_SECRET
from usermgmt.adapters.keys import write_signing_key

# Run in a fresh interpreter: this test process has imported half the world already.
_BUILD = textwrap.dedent(
    """
    import sys
    from usermgmt import Settings, UserManagement
    from usermgmt.entrypoints.http.app import create_app

    settings = Settings(mail_url="disabled")
    {before}
    app = create_app(UserManagement.in_memory(settings), settings)
    assert app.openapi_schema.paths, "the OpenAPI document was built"
    print("pydantic" in sys.modules, sys.modules.get("pydantic", 0) is None)
    """
)


def _build(before: str = "") -> str:
    done = subprocess.run(  # noqa: S603 - this interpreter, our own script
        [sys.executable, "-c", _BUILD.format(before=before)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip()


def test_building_the_app_leaves_pydantic_unloaded() -> None:
    """Pydantic is installed (typer needs it), but no schema of ours uses it: a worker goes without.

    And the import system is left as it was: pydantic is not marked absent
    once the application is built.
    """
    assert _build() == "False False"


def test_an_embedder_that_uses_pydantic_keeps_litestar_s_plugins() -> None:
    """Where pydantic is in use before the application is built, nothing is taken from it."""
    assert _build("import pydantic") == "True False"


# A worker as uvicorn builds it, from the environment; then a token signed and checked.
_WORKER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime, timedelta
    from uuid import uuid4

    from usermgmt.domain.model import AccessClaims, Role
    from usermgmt.entrypoints.http.app import create_app_from_env

    create_app_from_env()
    built_without = "cryptography" not in sys.modules
    from usermgmt._service.codec import token_codec
    from usermgmt.adapters.clock import SystemClock
    from usermgmt.settings import Settings

    codec = token_codec(Settings.from_env(), SystemClock())
    now = datetime.now(UTC).replace(microsecond=0)
    claims = AccessClaims(
        subject=uuid4(), session_id=uuid4(), token_id=uuid4(), role=Role.USER,
        issued_at=now, expires_at=now + timedelta(minutes=5),
    )
    assert codec.decode(codec.encode(claims)) == claims
    print(built_without, "cryptography" not in sys.modules)
    import webauthn  # what passkeys load on first use still imports cryptography
    """
)


def _worker(env: dict[str, str]) -> str:
    done = subprocess.run(  # noqa: S603 - this interpreter, our own script
        [sys.executable, "-c", _WORKER],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _environment(database_url: str, tmp_path: Path, **variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("USERMGMT_")}
    return {
        **env,
        "USERMGMT_DATABASE_URL": database_url,
        "USERMGMT_DATA_DIR": str(tmp_path),
        "USERMGMT_MAIL_URL": "disabled",
        **variables,
    }


def test_a_worker_with_hs256_secrets_goes_without_cryptography(
    database_url: str, tmp_path: Path
) -> None:
    """PyJWT would load cryptography (about 10 MiB) for algorithms HS256 never uses."""
    env = _environment(database_url, tmp_path, USERMGMT_JWT_SECRET=TEST_SECRET)

    assert _worker(env) == "True True"


def test_a_worker_with_an_ed25519_key_loads_cryptography(database_url: str, tmp_path: Path) -> None:
    """With an Ed25519 key, the same worker has what EdDSA needs."""
    key = tmp_path / "signing.pem"
    write_signing_key(key)
    env = _environment(database_url, tmp_path, USERMGMT_JWT_PRIVATE_KEY=str(key))

    assert _worker(env) == "False False"
