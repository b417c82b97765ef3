"""``usermgmt users show`` and ``users list``: tables for people, JSON for scripts."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import psycopg
import pytest

from usermgmt import SYSTEM, BlockingUserManagement, Role, User
from usermgmt.entrypoints.cli.users import PAGE_SIZE

from .conftest import PASSWORD, Cli

HTTP_FIELDS = {
    "id",
    "email",
    "name",
    "role",
    "is_active",
    "email_verified",
    "pending_email",
    "created_at",
    "updated_at",
    "mfa_enabled",
}


def _moment(text: str) -> datetime:
    """Parse an RFC 3339 time as the CLI prints it (UTC, with Z)."""
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text.removesuffix("Z") + "+00:00")


def _expected_json(user: User) -> dict[str, object]:
    return {
        "id": str(user.id),
        "email": user.email.value,
        "name": user.name,
        "role": user.role.value,
        "is_active": user.is_active,
        "email_verified": user.email_verified,
        "pending_email": None if user.pending_email is None else user.pending_email.value,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "mfa_enabled": user.mfa_enabled,
    }


def _parsed(item: dict[str, object]) -> dict[str, object]:
    """Return *item* with its times parsed, to compare with the library's datetimes."""
    return {
        k: _moment(v) if k.endswith("_at") and isinstance(v, str) else v for k, v in item.items()
    }


@pytest.mark.parametrize("by", ["id", "email"])
def test_show_json_is_the_http_representation_plus_deleted_at(
    cli: Cli, um: BlockingUserManagement, by: str
) -> None:
    """The JSON of show has the HTTP user fields plus deleted_at, for a user named either way."""
    user = um.register_user("ann@example.org", PASSWORD, "Ann")
    reference = str(user.id) if by == "id" else "ANN@example.org"

    result = cli("users", "show", reference, "--json")

    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert set(shown) == HTTP_FIELDS | {"deleted_at"}
    assert _parsed(shown) == {**_expected_json(user), "deleted_at": None}


def test_show_never_prints_the_password_hash(cli: Cli, um: BlockingUserManagement) -> None:
    """Neither the table nor the JSON of a user carries the hash."""
    user = um.register_user("ann@example.org", PASSWORD)

    table = cli("users", "show", str(user.id))
    as_json = cli("users", "show", str(user.id), "--json")

    assert "argon2" not in table.stdout
    assert "argon2" not in as_json.stdout
    assert "password" not in as_json.stdout


def test_show_prints_a_card_for_people(cli: Cli, um: BlockingUserManagement) -> None:
    """Without --json, show prints one field per line."""
    user = um.register_user("ann@example.org", PASSWORD, "Ann Smith", role=Role.ADMIN, actor=SYSTEM)

    result = cli("users", "show", "ann@example.org")

    assert result.exit_code == 0
    lines = [line.split(None, 1) for line in result.stdout.splitlines()]
    fields = {key: value.strip() for key, value in lines}
    assert fields["id"] == str(user.id)
    assert fields["email"] == "ann@example.org"
    assert fields["name"] == "Ann Smith"
    assert fields["role"] == "admin"
    assert fields["active"] == "yes"
    assert fields["created"] == user.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert "deleted" not in fields


@pytest.mark.parametrize("by", ["id", "email"])
def test_show_finds_a_deleted_user_with_deleted_at(
    cli: Cli, um: BlockingUserManagement, by: str
) -> None:
    """A soft-deleted user is still shown, by id or email, with when it was deleted."""
    user = um.register_user("ann@example.org", PASSWORD)
    um.delete_user(user.id, actor=SYSTEM)
    deleted = um.find_user(str(user.id), actor=SYSTEM, include_deleted=True)
    reference = str(user.id) if by == "id" else "ann@example.org"

    result = cli("users", "show", reference, "--json")
    card = cli("users", "show", reference)

    assert result.exit_code == 0
    assert deleted.deleted_at is not None
    assert _moment(json.loads(result.stdout)["deleted_at"]) == deleted.deleted_at
    assert any(line.startswith("deleted ") for line in card.stdout.splitlines())


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("nobody@example.org", "Error: No user nobody@example.org.\n"),
        (
            "7d3c3f36-4d2b-4c57-8a46-6a1d8c1b9b10",
            "Error: No user 7d3c3f36-4d2b-4c57-8a46-6a1d8c1b9b10.\n",
        ),
    ],
)
def test_show_of_an_unknown_user_exits_1_with_one_line(
    cli: Cli, reference: str, message: str
) -> None:
    """An unknown id or email is "not found": exit 1, one line on stderr, nothing on stdout."""
    result = cli("users", "show", reference)

    assert result.exit_code == 1
    assert result.stderr == message
    assert result.stdout == ""


def test_show_of_something_neither_id_nor_email_exits_1(cli: Cli) -> None:
    """A reference that is neither a UUID nor an address is refused as an invalid email."""
    result = cli("users", "show", "nobody")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: email: ")


def test_list_json_walks_every_page_oldest_first(cli: Cli, um: BlockingUserManagement) -> None:
    """More users than one page: --json lists each exactly once, in creation order."""
    count = PAGE_SIZE * 2 + 7
    created = [um.register_user(f"user{n:03d}@example.org", PASSWORD) for n in range(count)]

    result = cli("users", "list", "--json")

    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [item["id"] for item in listed] == [str(user.id) for user in created]
    assert all(set(item) == HTTP_FIELDS for item in listed)
    assert _parsed(listed[0]) == _expected_json(created[0])


def test_list_table_walks_every_page_under_one_header(cli: Cli, um: BlockingUserManagement) -> None:
    """More users than one page: the table shows every user once and its header once."""
    count = PAGE_SIZE + 3
    created = [um.register_user(f"user{n:03d}@example.org", PASSWORD) for n in range(count)]

    result = cli("users", "list")

    assert result.exit_code == 0
    ids = [line.split()[0] for line in result.stdout.splitlines() if line[:1].isalnum()]
    assert ids == ["ID"] + [str(user.id) for user in created]


def test_list_shows_role_and_state_in_the_table(cli: Cli, um: BlockingUserManagement) -> None:
    """Each table row carries id, email, name, role and active state."""
    user = um.register_user("ann@example.org", PASSWORD, "Ann", role=Role.ADMIN, actor=SYSTEM)

    result = cli("users", "list")

    row = next(line for line in result.stdout.splitlines() if line.startswith(str(user.id)))
    assert row.split()[:5] == [str(user.id), "ann@example.org", "Ann", "admin", "yes"]


def test_list_hides_deleted_users_unless_asked(cli: Cli, um: BlockingUserManagement) -> None:
    """Deleted users appear only with --include-deleted, and then with deleted_at."""
    live = um.register_user("live@example.org", PASSWORD)
    gone = um.register_user("gone@example.org", PASSWORD)
    um.delete_user(gone.id, actor=SYSTEM)

    default = json.loads(cli("users", "list", "--json").stdout)
    everyone = json.loads(cli("users", "list", "--json", "--include-deleted").stdout)

    assert [item["id"] for item in default] == [str(live.id)]
    assert [item["id"] for item in everyone] == [str(live.id), str(gone.id)]
    assert all(set(item) == HTTP_FIELDS | {"deleted_at"} for item in everyone)
    assert everyone[0]["deleted_at"] is None
    assert everyone[1]["deleted_at"] is not None


def test_list_of_no_users_is_an_empty_array_or_a_sentence(cli: Cli) -> None:
    """An empty database lists as [] in JSON and says so in words otherwise."""
    as_json = cli("users", "list", "--json")
    table = cli("users", "list")

    assert (as_json.exit_code, json.loads(as_json.stdout)) == (0, [])
    assert (table.exit_code, table.stdout) == (0, "No users.\n")


def test_list_escapes_control_characters_in_names(
    cli: Cli, um: BlockingUserManagement, empty_database: str
) -> None:
    """A name carrying a terminal escape sequence is shown escaped, never sent raw.

    Such names are refused now; this one comes from an earlier release, written straight
    into the database.
    """
    ann = um.register_user("ann@example.org", PASSWORD, "Ann")
    with psycopg.connect(empty_database, autocommit=True) as conn:
        conn.execute(
            "UPDATE users SET name = %s WHERE id = %s", ("Ann \x1b[2J\x1b]0;owned\x07", ann.id)
        )

    table = cli("users", "list")
    card = cli("users", "show", "ann@example.org")
    as_json = cli("users", "list", "--json")

    assert "\x1b" not in table.stdout
    assert "\x1b" not in card.stdout
    assert "Ann \\x1b[2J" in card.stdout
    assert json.loads(as_json.stdout)[0]["name"] == "Ann \x1b[2J\x1b]0;owned\x07"


def test_list_markup_in_names_is_shown_literally(cli: Cli, um: BlockingUserManagement) -> None:
    """Rich markup typed into a name is text, not formatting."""
    um.register_user("ann@example.org", PASSWORD, "[bold]Ann[/bold]")

    result = cli("users", "list")

    assert "[bold]Ann[/bold]" in result.stdout
