"""``usermgmt audit list`` and ``audit purge``: the log for an operator, on real PostgreSQL."""

from __future__ import annotations

import json

import pytest

from usermgmt import SYSTEM, BlockingUserManagement, Settings, VerificationMode

from .conftest import PASSWORD, Cli


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings without verification mail: these tests count the events of a change."""
    return settings.evolve(email_verification=VerificationMode.OFF)


def test_list_shows_rows_newest_first_as_a_table(cli: Cli, um: BlockingUserManagement) -> None:
    """One line per row under a header: type, outcome and the account."""
    ann = um.register_user("ann@example.org", PASSWORD)
    um.authenticate("ann@example.org", PASSWORD)

    result = cli("audit", "list")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "TYPE" in lines[0]
    body = [line for line in lines[2:] if line.strip()]
    assert "login_succeeded" in body[0]
    assert "user_registered" in body[1]
    assert all(str(ann.id) in line for line in body)


def test_list_filters_by_user_email_type_and_time_as_json(
    cli: Cli, um: BlockingUserManagement
) -> None:
    """--user takes an email, --type a row type, --since a date; --json the HTTP fields."""
    ann = um.register_user("ann@example.org", PASSWORD)
    um.register_user("bob@example.org", PASSWORD)
    um.authenticate("ann@example.org", PASSWORD)

    by_user = cli("audit", "list", "--user", "ANN@example.org", "--json")
    by_type = cli("audit", "list", "--type", "user_registered", "--json", "--since", "2000-01-01")
    future = cli("audit", "list", "--since", "2999-01-01T00:00:00+02:00", "--json")

    assert by_user.exit_code == 0, by_user.output
    rows = json.loads(by_user.stdout)
    assert [r["type"] for r in rows] == ["login_succeeded", "user_registered"]
    assert {r["user_id"] for r in rows} == {str(ann.id)}
    assert set(rows[0]) == {
        "id",
        "at",
        "type",
        "outcome",
        "actor_id",
        "user_id",
        "session_id",
        "ip",
        "user_agent",
        "request_id",
        "details",
    }
    assert [r["type"] for r in json.loads(by_type.stdout)] == ["user_registered"] * 2
    assert json.loads(future.stdout) == []


def test_list_with_a_bad_time_is_a_usage_error(cli: Cli) -> None:
    """Exit 2, the bad value named."""
    result = cli("audit", "list", "--since", "yesterday")

    assert result.exit_code == 2
    assert "yesterday" in result.output


def test_list_for_an_unknown_user_exits_1(cli: Cli) -> None:
    """Nobody by that email: exit 1, one line."""
    result = cli("audit", "list", "--user", "nobody@example.org")

    assert result.exit_code == 1
    assert result.stderr == "Error: No user nobody@example.org.\n"


def test_list_of_an_empty_log_says_so(cli: Cli) -> None:
    """No rows: one plain line."""
    result = cli("audit", "list")

    assert (result.exit_code, result.stdout) == (0, "No audit rows.\n")


def test_purge_deletes_older_rows_and_is_itself_recorded(
    cli: Cli, um: BlockingUserManagement
) -> None:
    """Everything before the bound goes; the purge leaves its own row, by the operator."""
    um.register_user("ann@example.org", PASSWORD)
    um.register_user("bob@example.org", PASSWORD)

    result = cli("audit", "purge", "--before", "2999-01-01")

    assert result.exit_code == 0, result.output
    assert result.stdout == "Purged 2 audit rows from before 2999-01-01T00:00:00Z.\n"
    (row,) = um.list_audit_events(actor=SYSTEM).items
    assert row.type == "audit_purged"
    assert row.details == {"before": "2999-01-01T00:00:00+00:00", "count": 2}
    assert row.actor_id is None


def test_purge_needs_a_bound(cli: Cli) -> None:
    """Without --before nothing is deleted: a usage error."""
    result = cli("audit", "purge")

    assert result.exit_code == 2
