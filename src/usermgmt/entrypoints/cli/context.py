"""How commands reach the service: built from the settings, opened on first use.

The root callback puts a :class:`ServiceOpener` on ``ctx.obj``; nothing is
built or connected until a command asks for the facade, so ``--help``,
``serve`` and usage errors never touch a database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from usermgmt import Settings

if TYPE_CHECKING:
    from usermgmt import BlockingUserManagement

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        metavar="URL",
        show_default=False,
        help=(
            "PostgreSQL URL, e.g. postgresql://user@host:5432/db. Default: "
            "$USERMGMT_DATABASE_URL, else the embedded database in the data directory."
        ),
    ),
]
"""The ``--database-url`` option of every command that touches data."""


class ServiceOpener:
    """Opens the synchronous facade for a command and closes it when the command ends."""

    def __init__(self, ctx: typer.Context) -> None:
        """Tie the facade's lifetime to the root context of *ctx*."""
        self._ctx = ctx.find_root()

    def settings(self, database_url: str | None, *, migrate: bool = True) -> Settings:
        """Return the environment's settings with *database_url* (when given) over them.

        Args:
            database_url: the ``--database-url`` flag, which wins over
                ``USERMGMT_DATABASE_URL``; ``None`` when not given.
            migrate: ``False`` never applies migrations on open, whatever
                ``USERMGMT_MIGRATE_ON_START`` says.

        Raises:
            ConfigurationError: an environment variable holds a malformed value.
        """
        settings = Settings.from_env().evolve(database_url=database_url)
        return settings if migrate else settings.evolve(migrate_on_start=False)

    def open(self, database_url: str | None, *, migrate: bool = True) -> BlockingUserManagement:
        """Build and open the service; it is closed when the command ends.

        Args:
            database_url: see :meth:`settings`.
            migrate: see :meth:`settings`.

        Raises:
            ConfigurationError: bad settings, or no URL and no embedded database installed.
            MigrationError, UnavailableError: the database cannot be used.
        """
        from usermgmt import UserManagement  # noqa: PLC0415 - the core loads only for a command that uses it

        service = UserManagement.from_settings(self.settings(database_url, migrate=migrate))
        return self._ctx.with_resource(service.blocking())


def opener(ctx: typer.Context) -> ServiceOpener:
    """Return the opener the root callback left on *ctx*."""
    found = ctx.obj
    if not isinstance(found, ServiceOpener):  # a group invoked without the root app
        found = ServiceOpener(ctx)
        ctx.obj = found
    return found
