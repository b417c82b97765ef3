"""``usermgmt keys``: make Ed25519 signing keys, and show the public keys in use."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from usermgmt.entrypoints.cli.context import opener
from usermgmt.entrypoints.cli.errors import fail, handle_errors
from usermgmt.entrypoints.cli.render import to_json

app = typer.Typer(
    no_args_is_help=True,
    help="Make Ed25519 signing keys and show the public keys (JWKS) that verify tokens.",
)


@app.command("generate")
@handle_errors
def generate(
    path: Annotated[
        Path,
        typer.Argument(
            metavar="PATH",
            show_default=False,
            dir_okay=False,
            help="Where to write the new private key (PEM); must not exist yet.",
        ),
    ],
) -> None:
    """Write a new Ed25519 private key to PATH (mode 0600) and print its kid.

    An existing file is never overwritten. To rotate, list the new key second
    in USERMGMT_JWT_PRIVATE_KEY first (it verifies), then first (it signs);
    see docs/operations.md, "Key rotation".

    Example:
        usermgmt keys generate /etc/usermgmt/signing-2026-06.pem
    """
    from usermgmt import UserManagement  # noqa: PLC0415 - the core loads only when used

    try:
        kid = UserManagement.generate_signing_key(path)
    except FileExistsError:
        raise fail(f"{path} already exists; a key file is never overwritten") from None
    except OSError as exc:
        raise fail(f"{path} cannot be written: {exc.strerror or exc}") from None
    typer.echo(kid)


@app.command("show")
@handle_errors
def show(ctx: typer.Context) -> None:
    """Print the JWKS of the keys in USERMGMT_JWT_PRIVATE_KEY, as the API publishes it.

    The signing key comes first. With a shared secret (HS256) there is no
    public key to show: the command says so and exits with status 1.

    Example:
        usermgmt keys show
    """
    from usermgmt import UserManagement  # noqa: PLC0415 - the core loads only when used

    keys = UserManagement.public_keys(opener(ctx).settings(None))
    if keys is None:
        msg = (
            "tokens are signed with a shared secret (HS256), which is never published; "
            "set USERMGMT_JWT_PRIVATE_KEY to sign with Ed25519 keys"
        )
        raise fail(msg)
    typer.echo(to_json(keys, indent=2))
