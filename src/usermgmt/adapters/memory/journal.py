"""The undo log that makes an in-memory block of work a transaction."""

from __future__ import annotations

import bisect
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar
from uuid import UUID

K = TypeVar("K")
V = TypeVar("V")
_MISSING = object()

OrderKey = tuple[datetime, UUID]
"""A user's place in creation order: ``(created_at, id)``, as PostgreSQL's index sorts."""


class Journal:
    """Undo log of one transaction: every write records how to take it back.

    A write that others must not see before the commit (an event, which a
    dispatcher would otherwise deliver) waits in :meth:`on_commit` instead.
    """

    def __init__(self) -> None:
        """Start with nothing to undo and nothing to publish."""
        self._undo: list[Callable[[], None]] = []
        self._on_commit: list[Callable[[], None]] = []

    def on_commit(self, write: Callable[[], None]) -> None:
        """Make *write* when the transaction commits, not before (none at a rollback)."""
        self._on_commit.append(write)

    def commit(self) -> None:
        """Make the writes held for the commit, in the order they came."""
        for write in self._on_commit:
            write()
        self._on_commit.clear()

    def put(self, table: dict[K, V], key: K, value: V) -> None:
        """Set *table*[*key*] to *value*, remembering what it was."""
        old = table.get(key, _MISSING)
        self._undo.append(lambda: _restore(table, key, old))
        table[key] = value

    def pop(self, table: dict[K, V], key: K) -> None:
        """Remove *key* from *table*, remembering what it held."""
        old = table.pop(key, _MISSING)
        self._undo.append(lambda: _restore(table, key, old))

    def insort(self, ordered: list[OrderKey], item: OrderKey) -> None:
        """Insert *item* into the sorted list *ordered*."""
        bisect.insort(ordered, item)
        self._undo.append(lambda: ordered.remove(item))

    def rollback(self) -> None:
        """Undo every recorded write, the latest first."""
        while self._undo:
            self._undo.pop()()


def _restore(table: dict[K, V], key: K, old: object) -> None:
    if old is _MISSING:
        table.pop(key, None)
    else:
        table[key] = old  # type: ignore[assignment]  # old came out of this very table
