"""What building the HTTP application loads: nothing a worker does not use."""

from __future__ import annotations

import subprocess
import sys
import textwrap

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
