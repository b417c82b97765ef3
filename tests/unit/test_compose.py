"""The SQL building blocks: column lists written once, statements rendered once."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import pytest

from usermgmt.adapters.postgres import compose, credentials, devices, sessions, users


@pytest.mark.parametrize(
    ("from_row", "names"),
    [
        (users.user_from_row, compose.USER_COLUMNS),
        (sessions._session_from_row, compose.SESSION_COLUMNS),
        (sessions._token_from_row, compose.REFRESH_TOKEN_COLUMNS),
        (devices._device_from_row, compose.DEVICE_TOKEN_COLUMNS),
        (credentials.password_from_row, compose.PASSWORD_COLUMNS),
    ],
)
def test_each_row_function_takes_exactly_its_column_list(
    from_row: Callable[..., object], names: tuple[str, ...]
) -> None:
    """A column added to a list without its row function (or the reverse) fails here."""
    parameters = tuple(inspect.signature(from_row).parameters)

    assert parameters == names


def test_statements_are_rendered_once_with_quoted_columns_and_bound_values() -> None:
    """Columns become quoted identifiers; values stay named placeholders, bound at execution."""
    query = compose.statement(
        "INSERT INTO t ({columns}) VALUES ({values}) RETURNING {returned}",
        columns=compose.columns(("a", "b")),
        values=compose.values(("a", "b")),
        returned=compose.columns(("a",), of="t"),
    )

    assert query == b'INSERT INTO t ("a", "b") VALUES (%(a)s, %(b)s) RETURNING "t"."a"'


def test_assignments_and_overrides_keep_the_column_order() -> None:
    """An update sets each column from its own placeholder; an override replaces one value."""
    query = compose.statement(
        "UPDATE t SET {set} -- {values}",
        set=compose.assignments(("a", "b")),
        values=compose.values(("a", "b", "c"), b=compose.sql.Identifier("x")),
    )

    assert query == b'UPDATE t SET "a" = %(a)s, "b" = %(b)s -- %(a)s, "x", %(c)s'


def test_the_written_user_columns_are_the_read_ones_plus_the_email_key() -> None:
    """The key is stored beside the address, never read back; an update keeps id and creation."""
    assert set(compose.USER_WRITTEN) == {*compose.USER_COLUMNS, "email_key"}
    assert set(compose.USER_WRITTEN) - set(compose.USER_UPDATED) == {"id", "created_at"}


def test_joined_columns_are_renamed_apart() -> None:
    """A join's second table is read under prefixed names, so no column hides another."""
    listed = compose.statement(
        "SELECT {c}", c=compose.aliased(("id", "secret"), of="c", prefix="p_")
    )

    assert listed == b'SELECT "c"."id" AS "p_id", "c"."secret" AS "p_secret"'


def test_the_authenticated_read_selects_no_credential() -> None:
    """The query behind every authenticated request reads users and sessions, never a secret."""
    query = sessions._LIVE_USER.lower()

    assert b"credentials" not in query
    assert b"secret" not in query
    assert b"password" not in query
