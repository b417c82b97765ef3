"""``usermgmt users update``, ``set-password``, ``delete`` and ``restore``."""

from __future__ import annotations

import pytest

from usermgmt import (
    SYSTEM,
    BlockingUserManagement,
    InvalidCredentialsError,
    InvalidTokenError,
    Role,
    Settings,
    User,
    UserManagement,
    UserNotFoundError,
)
from usermgmt.adapters.mail import InMemoryMailer
from usermgmt.domain.mail import MailKind

from .conftest import PASSWORD, Cli

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def admin(um: BlockingUserManagement) -> User:
    """The one active administrator."""
    return um.register_user("root@example.org", PASSWORD, "Root", role=Role.ADMIN, actor=SYSTEM)


@pytest.fixture
def ann(um: BlockingUserManagement) -> User:
    """A plain user."""
    return um.register_user("ann@example.org", PASSWORD, "Ann")


def _ref(user: User, by: str) -> str:
    return str(user.id) if by == "id" else user.email.value.upper()


# --- update --------------------------------------------------------------------------------


@pytest.mark.usefixtures("admin")
@pytest.mark.parametrize("by", ["id", "email"])
def test_update_changes_name_email_and_role(
    cli: Cli, um: BlockingUserManagement, ann: User, by: str
) -> None:
    """Every given field changes; the updated user is printed."""
    result = cli(
        "users", "update", _ref(ann, by),
        "--name", "Ann Smith", "--email", "ann.smith@example.org", "--role", "admin",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    now = um.find_user(str(ann.id), actor=SYSTEM)
    assert (now.name, now.email.value, now.role) == (
        "Ann Smith",
        "ann.smith@example.org",
        Role.ADMIN,
    )
    assert "ann.smith@example.org" in result.stdout


@pytest.mark.usefixtures("admin")
def test_update_inactive_ends_sessions_and_active_allows_sign_in_again(
    cli: Cli, um: BlockingUserManagement, ann: User
) -> None:
    """--inactive refuses sign-in and kills live tokens; --active lets the user back in."""
    tokens = um.authenticate("ann@example.org", PASSWORD)

    off = cli("users", "update", "ann@example.org", "--inactive")

    assert off.exit_code == 0
    assert um.find_user(str(ann.id), actor=SYSTEM).is_active is False
    with pytest.raises(InvalidTokenError):
        um.validate_access_token(tokens.access_token)
    with pytest.raises(InvalidCredentialsError):
        um.authenticate("ann@example.org", PASSWORD)

    on = cli("users", "update", str(ann.id), "--active")

    assert on.exit_code == 0
    assert um.authenticate("ann@example.org", PASSWORD).access_token


@pytest.mark.usefixtures("admin", "ann")
def test_update_to_a_taken_email_exits_1(cli: Cli) -> None:
    """Another live user's email is a conflict: exit 1 with the address."""
    result = cli("users", "update", "ann@example.org", "--email", "Root@example.org")

    assert result.exit_code == 1
    assert result.stderr == "Error: The email root@example.org is already registered.\n"


@pytest.mark.usefixtures("ann")
def test_update_to_an_invalid_email_exits_1(cli: Cli) -> None:
    """A malformed new address is refused with the validator's reason."""
    result = cli("users", "update", "ann@example.org", "--email", "ann at example")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: email: ")


@pytest.mark.parametrize("change", [["--role", "user"], ["--inactive"]])
def test_update_of_the_last_admin_away_exits_1(
    cli: Cli, um: BlockingUserManagement, admin: User, change: list[str]
) -> None:
    """Demoting or deactivating the last active admin is refused and changes nothing."""
    result = cli("users", "update", "root@example.org", *change)

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: The last active administrator cannot be demoted, deactivated or deleted.\n"
    )
    assert um.find_user(str(admin.id), actor=SYSTEM).is_active_admin


def test_update_of_an_unknown_user_exits_1(cli: Cli) -> None:
    """Updating nobody is "not found"."""
    result = cli("users", "update", "nobody@example.org", "--name", "X")

    assert result.exit_code == 1
    assert result.stderr == "Error: No user nobody@example.org.\n"


@pytest.mark.usefixtures("ann")
def test_update_with_nothing_to_change_is_a_usage_error(cli: Cli) -> None:
    """An update without any field flag exits 2 and says which flags exist."""
    result = cli("users", "update", "ann@example.org")

    assert result.exit_code == 2
    assert "nothing to change" in result.stderr


def test_update_with_an_unknown_role_is_a_usage_error(
    cli: Cli, um: BlockingUserManagement, ann: User
) -> None:
    """--role accepts only user or admin (exit 2 otherwise)."""
    result = cli("users", "update", "ann@example.org", "--role", "root")

    assert result.exit_code == 2
    assert um.find_user(str(ann.id), actor=SYSTEM).role is Role.USER


# --- set-password -------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["id", "email"])
def test_set_password_replaces_it_and_ends_every_session(
    cli: Cli, um: BlockingUserManagement, ann: User, by: str
) -> None:
    """The new password works, the old one no longer does, and live tokens die."""
    tokens = um.authenticate("ann@example.org", PASSWORD)

    result = cli("users", "set-password", _ref(ann, by), "--password-stdin", stdin=NEW_PASSWORD)

    assert result.exit_code == 0, result.output
    assert NEW_PASSWORD not in result.output
    assert um.authenticate("ann@example.org", NEW_PASSWORD).access_token
    with pytest.raises(InvalidCredentialsError):
        um.authenticate("ann@example.org", PASSWORD)
    with pytest.raises(InvalidTokenError):
        um.validate_access_token(tokens.access_token)


@pytest.mark.usefixtures("ann")
def test_set_password_refuses_a_weak_one_with_the_policy_reason(
    cli: Cli, um: BlockingUserManagement
) -> None:
    """A common password is refused (exit 1) and the old one keeps working."""
    result = cli("users", "set-password", "ann@example.org", "--password-stdin", stdin="password1")

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: password: is too common: it appears in lists of breached passwords\n"
    )
    assert um.authenticate("ann@example.org", PASSWORD).access_token


def test_set_password_of_an_unknown_user_exits_1(cli: Cli) -> None:
    """Nobody to change: "not found", exit 1."""
    result = cli("users", "set-password", "nobody@example.org", "--password-stdin", stdin=PASSWORD)

    assert result.exit_code == 1
    assert result.stderr == "Error: No user nobody@example.org.\n"


@pytest.mark.usefixtures("ann")
def test_set_password_without_a_terminal_or_stdin_is_a_usage_error(cli: Cli) -> None:
    """No prompt is possible and none was piped: exit 2."""
    result = cli("users", "set-password", "ann@example.org")

    assert result.exit_code == 2
    assert "--password-stdin" in result.stderr


# --- delete ---------------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["id", "email"])
def test_delete_yes_soft_deletes_without_asking(
    cli: Cli, um: BlockingUserManagement, ann: User, by: str
) -> None:
    """--yes deletes at once: the user is gone from lookups and cannot sign in."""
    tokens = um.authenticate("ann@example.org", PASSWORD)

    result = cli("users", "delete", _ref(ann, by), "--yes")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"Deleted ann@example.org ({ann.id}).\n"
    with pytest.raises(UserNotFoundError):
        um.find_user(str(ann.id), actor=SYSTEM)
    with pytest.raises(InvalidTokenError):
        um.validate_access_token(tokens.access_token)


def test_delete_asks_first_and_deletes_on_yes(
    cli: Cli, um: BlockingUserManagement, ann: User
) -> None:
    """Without --yes the user is named in a question; "y" goes ahead."""
    result = cli("users", "delete", "ann@example.org", stdin="y\n")

    assert result.exit_code == 0
    assert f"Delete ann@example.org ({ann.id})?" in result.stdout
    assert um.find_user(str(ann.id), actor=SYSTEM, include_deleted=True).is_deleted


@pytest.mark.parametrize("answer", ["n\n", "\n", ""])
def test_delete_declined_or_unanswered_deletes_nothing(
    cli: Cli, um: BlockingUserManagement, ann: User, answer: str
) -> None:
    """Answering no, just Enter, or nothing at all leaves the user alone and exits 1."""
    result = cli("users", "delete", "ann@example.org", stdin=answer)

    assert result.exit_code == 1
    assert not um.find_user(str(ann.id), actor=SYSTEM).is_deleted


def test_delete_of_the_last_admin_exits_1(
    cli: Cli, um: BlockingUserManagement, admin: User
) -> None:
    """The last active admin cannot be deleted."""
    result = cli("users", "delete", "root@example.org", "--yes")

    assert result.exit_code == 1
    assert "last active administrator" in result.stderr
    assert not um.find_user(str(admin.id), actor=SYSTEM).is_deleted


def test_delete_of_an_unknown_or_deleted_user_exits_1(
    cli: Cli, um: BlockingUserManagement, ann: User
) -> None:
    """Deleting a user twice is "not found" the second time."""
    um.delete_user(ann.id, actor=SYSTEM)

    result = cli("users", "delete", str(ann.id), "--yes")

    assert result.exit_code == 1
    assert result.stderr == f"Error: No user {ann.id}.\n"


# --- restore --------------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["id", "email"])
def test_restore_brings_a_deleted_user_back(
    cli: Cli, um: BlockingUserManagement, ann: User, by: str
) -> None:
    """A restored user is live again and can sign in; named by id or by email."""
    um.delete_user(ann.id, actor=SYSTEM)

    result = cli("users", "restore", _ref(ann, by))

    assert result.exit_code == 0, result.output
    assert result.stdout == f"Restored ann@example.org ({ann.id}).\n"
    assert not um.find_user(str(ann.id), actor=SYSTEM).is_deleted
    assert um.authenticate("ann@example.org", PASSWORD).access_token


def test_restore_of_a_live_user_exits_1(cli: Cli, ann: User) -> None:
    """Restoring someone who is not deleted finds no deleted user to restore."""
    result = cli("users", "restore", str(ann.id))

    assert result.exit_code == 1
    assert result.stderr == f"Error: User {ann.id} is not deleted.\n"


def test_restore_when_the_email_was_taken_again_exits_1(
    cli: Cli, um: BlockingUserManagement, ann: User
) -> None:
    """A deleted user whose email a new account took cannot come back: conflict."""
    um.delete_user(ann.id, actor=SYSTEM)
    um.register_user("ann@example.org", PASSWORD)

    result = cli("users", "restore", str(ann.id))

    assert result.exit_code == 1
    assert result.stderr == "Error: The email ann@example.org is already registered.\n"


def test_restore_of_an_unknown_user_exits_1(cli: Cli) -> None:
    """Nobody by that name, deleted or not: "not found"."""
    result = cli("users", "restore", "nobody@example.org")

    assert result.exit_code == 1
    assert result.stderr == "Error: No user nobody@example.org.\n"


# --- verification and reset links ------------------------------------------------------------


def test_update_verified_marks_the_address_and_a_new_email_is_unverified(
    cli: Cli, um: BlockingUserManagement, ann: User
) -> None:
    """--verified counts the address as proven; --email alone applies at once, unverified."""
    marked = cli("users", "update", "ann@example.org", "--verified")
    assert marked.exit_code == 0, marked.output
    assert um.find_user(str(ann.id), actor=SYSTEM).email_verified is True
    assert "verified yes" in " ".join(marked.stdout.split())

    moved = cli("users", "update", "ann@example.org", "--email", "ann@new.example.org")

    assert moved.exit_code == 0, moved.output
    now = um.find_user(str(ann.id), actor=SYSTEM)
    assert (now.email.value, now.email_verified, now.pending_email) == (
        "ann@new.example.org",
        False,
        None,
    )
    both = cli("users", "update", str(ann.id), "--email", "ann@third.example.org", "--verified")
    assert both.exit_code == 0, both.output
    assert um.find_user(str(ann.id), actor=SYSTEM).email_verified is True


@pytest.mark.usefixtures("ann")
def test_send_reset_queues_a_link_the_operator_never_sees(
    cli: Cli, empty_database: str, settings: Settings
) -> None:
    """The command says it was queued; the running service mails the link to the user alone."""
    result = cli("users", "send-reset", "ANN@example.org")

    assert result.exit_code == 0, result.output
    assert "ann@example.org" in result.stdout
    mailer = InMemoryMailer()
    with UserManagement.from_url(empty_database, settings, mailer=mailer).blocking() as service:
        service.dispatch_events()  # what the running service does in the background
        service.dispatch_events()  # the reset request, then the mail it queued
    (reset,) = [m for m in mailer.sent if m.kind is MailKind.RESET_PASSWORD]
    token = reset.text.split("#token=")[1].split()[0]
    assert reset.to.address == "ann@example.org"
    assert token not in result.output


def test_send_reset_refuses_an_unknown_or_deactivated_user(
    cli: Cli, um: BlockingUserManagement, ann: User
) -> None:
    """Exit 1 with one line: nobody to mail, or an account that may not sign in."""
    um.update_user(ann.id, actor=SYSTEM, is_active=False)

    unknown = cli("users", "send-reset", "nobody@example.org")
    idle = cli("users", "send-reset", "ann@example.org")

    assert (unknown.exit_code, idle.exit_code) == (1, 1)
    assert "deactivated" in idle.stderr
    assert um.pending_mail() == 1  # the registration's verification mail alone


@pytest.mark.usefixtures("ann")
def test_send_reset_with_mail_disabled_says_so(cli_env: dict[str, str | None]) -> None:
    """USERMGMT_MAIL_URL=disabled: exit 1, the one line says no mail is sent."""
    disabled = Cli({**cli_env, "USERMGMT_MAIL_URL": "disabled"})
    result = disabled("users", "send-reset", "ann@example.org")

    assert result.exit_code == 1
    assert "sends no mail" in result.stderr
