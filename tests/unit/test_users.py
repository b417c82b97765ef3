"""Managing accounts: registration, reads, listing, updates, deletion, restoration."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import argon2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.credentials_contract import stored_password
from usermgmt import (
    SYSTEM,
    CurrentPasswordRequiredError,
    Email,
    EmailTakenError,
    InvalidCredentialsError,
    InvalidCursorError,
    InvalidPageError,
    InvalidTokenError,
    LastAdminError,
    ManualClock,
    PermissionDeniedError,
    Principal,
    Role,
    Settings,
    User,
    UserId,
    UserManagement,
    UserNotDeletedError,
    UserNotFoundError,
    ValueTooLongError,
    VerificationMode,
    WeakPasswordError,
    WrongPasswordError,
)
from usermgmt.adapters.passwords import Argon2PasswordHasher

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery"
NEW_PASSWORD = "purple elephant sunrise"


async def _signed_in(
    um: UserManagement, email: str, role: Role = Role.USER
) -> tuple[User, Principal]:
    await um.register_user(email, PASSWORD, role=role, actor=SYSTEM)
    tokens = await um.authenticate(email, PASSWORD)
    principal = await um.validate_access_token(tokens.access_token)
    return principal.user, principal


# --- registration ----------------------------------------------------------------------------


async def test_registration_stores_a_normalized_active_user(um: UserManagement) -> None:
    """A new user is active, a plain user, with the normalized email and trimmed name."""
    user = await um.register_user("  Ann@Example.ORG ", PASSWORD, "  Ann Smith ")

    assert (user.email.value, user.name, user.role, user.is_active) == (
        "ann@example.org",
        "Ann Smith",
        Role.USER,
        True,
    )
    assert (await stored_password(um, user.id)).password_hash.startswith("$argon2id$")
    assert PASSWORD not in repr(user)


async def test_a_taken_email_is_refused_in_any_case(um: UserManagement) -> None:
    """Registering Alice@Example.COM then alice@example.com fails the second time."""
    await um.register_user("Alice@Example.COM", PASSWORD)

    with pytest.raises(EmailTakenError):
        await um.register_user("alice@example.com", PASSWORD)


async def test_an_admin_can_only_be_created_by_a_privileged_actor(um: UserManagement) -> None:
    """Anonymous registration cannot ask for the admin role."""
    with pytest.raises(PermissionDeniedError):
        await um.register_user("eve@example.org", PASSWORD, role=Role.ADMIN)

    admin = await um.register_user("root@example.org", PASSWORD, role=Role.ADMIN, actor=SYSTEM)

    assert admin.is_admin


async def test_a_bad_name_is_refused_before_hashing(um: UserManagement) -> None:
    """Names over 200 characters are refused and nothing is stored."""
    with pytest.raises(ValueTooLongError):
        await um.register_user("ann@example.org", PASSWORD, "n" * 201)

    assert (await um.list_users(actor=SYSTEM)).total == 0


async def test_no_user_exists_until_one_registers(um: UserManagement) -> None:
    """There is no default (admin) account."""
    page = await um.list_users(actor=SYSTEM)

    assert (page.total, page.items) == (0, ())


# --- reading ---------------------------------------------------------------------------------


async def test_users_read_themselves_but_not_others(um: UserManagement) -> None:
    """A plain user gets their own record and 403 for any other id, existing or not."""
    ann, as_ann = await _signed_in(um, "ann@example.org")
    bob, _ = await _signed_in(um, "bob@example.org")

    assert await um.get_user(ann.id, actor=as_ann) == ann
    for other in (bob.id, UserId(uuid.uuid4())):
        with pytest.raises(PermissionDeniedError):
            await um.get_user(other, actor=as_ann)


async def test_admins_read_anyone_and_get_404_for_unknown_ids(um: UserManagement) -> None:
    """Admins may read every user; unknown and deleted ids are not found."""
    _, as_admin = await _signed_in(um, "root@example.org", Role.ADMIN)
    bob, _ = await _signed_in(um, "bob@example.org")

    assert (await um.get_user(bob.id, actor=as_admin)).email == bob.email
    await um.delete_user(bob.id, actor=as_admin)
    for missing in (bob.id, UserId(uuid.uuid4())):
        with pytest.raises(UserNotFoundError):
            await um.get_user(missing, actor=as_admin)


async def test_operators_find_users_by_id_or_email(um: UserManagement) -> None:
    """find_user takes an id or an email, and finds deleted users only on request."""
    ann = await um.register_user("ann@example.org", PASSWORD)
    await um.delete_user(ann.id, actor=SYSTEM)

    assert (await um.find_user(str(ann.id), actor=SYSTEM, include_deleted=True)).id == ann.id
    assert (await um.find_user("ANN@example.org", actor=SYSTEM, include_deleted=True)).id == ann.id
    with pytest.raises(UserNotFoundError):
        await um.find_user("ann@example.org", actor=SYSTEM)


# --- listing ---------------------------------------------------------------------------------


async def test_only_admins_list_users(um: UserManagement) -> None:
    """A plain user may not list users, by page or by cursor."""
    _, as_ann = await _signed_in(um, "ann@example.org")

    with pytest.raises(PermissionDeniedError):
        await um.list_users(actor=as_ann)
    with pytest.raises(PermissionDeniedError):
        await um.list_users_after(actor=as_ann)


async def test_pages_report_totals(um: UserManagement) -> None:
    """Five users at two per page make three pages, the last with one user."""
    for n in range(5):
        await um.register_user(f"u{n}@example.org", PASSWORD)

    last = await um.list_users(actor=SYSTEM, page=3, per_page=2)
    beyond = await um.list_users(actor=SYSTEM, page=4, per_page=2)

    assert (last.total, last.pages, len(last.items)) == (5, 3, 1)
    assert beyond.items == ()


@pytest.mark.parametrize(
    ("page", "per_page", "field"), [(0, 20, "page"), (1, 0, "per_page"), (1, 101, "per_page")]
)
async def test_page_parameters_are_bounded(
    um: UserManagement, page: int, per_page: int, field: str
) -> None:
    """Pages start at 1; per_page is 1..100."""
    with pytest.raises(InvalidPageError) as caught:
        await um.list_users(actor=SYSTEM, page=page, per_page=per_page)

    assert caught.value.field == field


async def test_a_cursor_walk_sees_each_user_once(um: UserManagement) -> None:
    """Following next_cursor visits every live user exactly once, oldest first (ties by id)."""
    users = [await um.register_user(f"u{n}@example.org", PASSWORD) for n in range(7)]

    seen: list[UserId] = []
    cursor: str | None = ""
    while cursor is not None:
        page = await um.list_users_after(actor=SYSTEM, cursor=cursor, per_page=3)
        seen.extend(u.id for u in page.items)
        cursor = page.next_cursor

    assert seen == [u.id for u in sorted(users, key=lambda u: (u.created_at, u.id))]


async def test_a_forged_cursor_is_refused(um: UserManagement) -> None:
    """Cursors are validated: garbage is an InvalidCursorError."""
    with pytest.raises(InvalidCursorError):
        await um.list_users_after(actor=SYSTEM, cursor="not-a-cursor")


# --- updates ---------------------------------------------------------------------------------


async def test_users_rename_themselves(um: UserManagement) -> None:
    """A user may change their own name at once; their own email waits for its link."""
    ann, as_ann = await _signed_in(um, "ann@example.org")

    updated = await um.update_user(
        ann.id, actor=as_ann, name="Ann B", email="ann.b@example.org", current_password=PASSWORD
    )

    assert (updated.name, updated.email.value) == ("Ann B", "ann@example.org")
    assert updated.pending_email == Email.parse("ann.b@example.org")
    assert updated.updated_at >= ann.updated_at


async def test_without_verification_a_self_email_change_applies_at_once(
    settings: Settings,
) -> None:
    """Verification ``off``: the new address is the user's at once, still proven by the password."""
    off = settings.evolve(email_verification=VerificationMode.OFF)
    async with UserManagement.in_memory(off) as um:
        ann, as_ann = await _signed_in(um, "ann@example.org")
        with pytest.raises(CurrentPasswordRequiredError):
            await um.update_user(ann.id, actor=as_ann, email="ann.b@example.org")

        updated = await um.update_user(
            ann.id, actor=as_ann, email="ann.b@example.org", current_password=PASSWORD
        )

    assert (updated.email.value, updated.pending_email) == ("ann.b@example.org", None)


async def test_users_cannot_touch_others_or_their_own_role(um: UserManagement) -> None:
    """A plain user gets 403 for another user, and for role or is_active on themselves."""
    ann, as_ann = await _signed_in(um, "ann@example.org")
    bob, _ = await _signed_in(um, "bob@example.org")

    with pytest.raises(PermissionDeniedError):
        await um.update_user(bob.id, actor=as_ann, name="Mallory")
    with pytest.raises(PermissionDeniedError):
        await um.update_user(ann.id, actor=as_ann, role=Role.ADMIN)
    with pytest.raises(PermissionDeniedError):
        await um.update_user(ann.id, actor=as_ann, is_active=True)
    with pytest.raises(PermissionDeniedError):
        await um.delete_user(bob.id, actor=as_ann)


async def test_a_taken_email_cannot_be_moved_to(um: UserManagement) -> None:
    """An operator's change to another live user's address is a conflict."""
    ann, _ = await _signed_in(um, "ann@example.org")
    await um.register_user("bob@example.org", PASSWORD)

    with pytest.raises(EmailTakenError):
        await um.update_user(ann.id, actor=SYSTEM, email="BOB@example.org")


async def test_a_self_password_change_needs_the_current_password(um: UserManagement) -> None:
    """Missing current password is a validation error; a wrong one is refused."""
    ann, as_ann = await _signed_in(um, "ann@example.org")

    with pytest.raises(CurrentPasswordRequiredError):
        await um.update_user(ann.id, actor=as_ann, password=NEW_PASSWORD)
    with pytest.raises(WrongPasswordError):
        await um.update_user(
            ann.id, actor=as_ann, password=NEW_PASSWORD, current_password="wrong one"
        )


async def test_a_password_changed_while_the_current_one_is_checked_is_not_overwritten(
    settings: Settings,
) -> None:
    """A proof of the old password goes stale when an admin sets another one meanwhile."""

    class Interleaving(Argon2PasswordHasher):
        """Runs *meanwhile* once, as the next hash starts: while a new password is hashed."""

        meanwhile: Callable[[], Awaitable[object]] | None = None

        async def hash(self, password: str) -> str:
            if self.meanwhile is not None:
                run, self.meanwhile = self.meanwhile, None
                await run()
            return await super().hash(password)

    hasher = Interleaving(argon2.PasswordHasher.from_parameters(argon2.profiles.CHEAPEST))
    async with UserManagement.in_memory(settings, hasher=hasher) as um:
        ann, as_ann = await _signed_in(um, "ann@example.org")
        hasher.meanwhile = lambda: um.change_password(ann.id, "an admin's passphrase", actor=SYSTEM)

        with pytest.raises(WrongPasswordError):
            await um.change_password(ann.id, NEW_PASSWORD, actor=as_ann, current_password=PASSWORD)

        assert await um.authenticate("ann@example.org", "an admin's passphrase")
        with pytest.raises(InvalidCredentialsError):
            await um.authenticate("ann@example.org", NEW_PASSWORD)


async def test_the_password_records_when_it_was_set_changed_and_last_used(
    um: UserManagement, clock: ManualClock
) -> None:
    """Registration sets it, a change keeps its id with a new time, a login marks its use."""
    ann = await um.register_user("ann@example.org", PASSWORD)
    registered = await stored_password(um, ann.id)
    clock.advance(timedelta(hours=1))
    await um.authenticate("ann@example.org", PASSWORD)
    used = await stored_password(um, ann.id)
    clock.advance(timedelta(hours=1))

    await um.change_password(ann.id, NEW_PASSWORD, actor=SYSTEM)

    changed = await stored_password(um, ann.id)
    start = registered.created_at
    assert (registered.updated_at, registered.last_used_at) == (start, None)
    assert (used.updated_at, used.last_used_at) == (start, start + timedelta(hours=1))
    assert (changed.id, changed.created_at) == (registered.id, start)
    assert changed.updated_at == start + timedelta(hours=2)
    assert changed.password_hash != registered.password_hash


async def test_a_password_change_ends_every_other_session(um: UserManagement) -> None:
    """The changing session lives on; the user's other sessions end; the new password works."""
    await um.register_user("ann@example.org", PASSWORD)
    here = await um.authenticate("ann@example.org", PASSWORD)
    there = await um.authenticate("ann@example.org", PASSWORD)
    me = await um.validate_access_token(here.access_token)

    await um.change_password(me.user.id, NEW_PASSWORD, actor=me, current_password=PASSWORD)

    assert (await um.validate_access_token(here.access_token)).session_id == me.session_id
    with pytest.raises(InvalidTokenError):
        await um.validate_access_token(there.access_token)
    with pytest.raises(InvalidCredentialsError):
        await um.authenticate("ann@example.org", PASSWORD)
    assert await um.authenticate("ann@example.org", NEW_PASSWORD)


async def test_an_admin_password_reset_ends_all_sessions(um: UserManagement) -> None:
    """When an admin sets a password, none of the user's sessions survive."""
    ann, _ = await _signed_in(um, "ann@example.org")
    tokens = await um.authenticate("ann@example.org", PASSWORD)

    await um.change_password(ann.id, NEW_PASSWORD, actor=SYSTEM)

    with pytest.raises(InvalidTokenError):
        await um.validate_access_token(tokens.access_token)


async def test_a_weak_new_password_is_refused(um: UserManagement) -> None:
    """The password policy applies to changes as to registration."""
    ann, as_ann = await _signed_in(um, "ann@example.org")

    with pytest.raises(WeakPasswordError):
        await um.update_user(ann.id, actor=as_ann, password="password1", current_password=PASSWORD)


async def test_deactivation_ends_every_session_at_once(um: UserManagement) -> None:
    """An admin deactivating a user kills all of their tokens."""
    ann, _ = await _signed_in(um, "ann@example.org")
    tokens = await um.authenticate("ann@example.org", PASSWORD)

    await um.update_user(ann.id, actor=SYSTEM, is_active=False)

    with pytest.raises(InvalidTokenError):
        await um.validate_access_token(tokens.access_token)
    with pytest.raises(InvalidCredentialsError):
        await um.authenticate("ann@example.org", PASSWORD)


async def test_the_last_active_admin_cannot_be_demoted_or_deactivated(um: UserManagement) -> None:
    """Demoting or deactivating the only active admin is a conflict; with two it is fine."""
    root, as_root = await _signed_in(um, "root@example.org", Role.ADMIN)

    with pytest.raises(LastAdminError):
        await um.update_user(root.id, actor=as_root, role=Role.USER)
    with pytest.raises(LastAdminError):
        await um.update_user(root.id, actor=SYSTEM, is_active=False)

    await um.register_user("second@example.org", PASSWORD, role=Role.ADMIN, actor=SYSTEM)
    demoted = await um.update_user(root.id, actor=as_root, role=Role.USER)
    assert demoted.role is Role.USER


# --- deletion and restoration ----------------------------------------------------------------


async def test_deletion_hides_the_user_and_frees_the_email(um: UserManagement) -> None:
    """A deleted user cannot log in, vanishes from lists, and their email can be reused."""
    ann, as_ann = await _signed_in(um, "ann@example.org")
    tokens = await um.authenticate("ann@example.org", PASSWORD)

    await um.delete_user(ann.id, actor=as_ann)

    with pytest.raises(InvalidTokenError):
        await um.validate_access_token(tokens.access_token)
    with pytest.raises(InvalidCredentialsError):
        await um.authenticate("ann@example.org", PASSWORD)
    assert (await um.list_users(actor=SYSTEM)).total == 0
    assert (await um.register_user("ann@example.org", PASSWORD)).id != ann.id


async def test_the_last_active_admin_cannot_be_deleted(um: UserManagement) -> None:
    """Deleting the only active admin is a conflict."""
    root, as_root = await _signed_in(um, "root@example.org", Role.ADMIN)

    with pytest.raises(LastAdminError):
        await um.delete_user(root.id, actor=as_root)


async def test_restore_brings_back_login_but_not_old_sessions(um: UserManagement) -> None:
    """A restored user logs in again; tokens from before the deletion stay dead."""
    ann, _ = await _signed_in(um, "ann@example.org")
    old = await um.authenticate("ann@example.org", PASSWORD)
    await um.delete_user(ann.id, actor=SYSTEM)

    restored = await um.restore_user(ann.id, actor=SYSTEM)

    assert restored.deleted_at is None
    with pytest.raises(InvalidTokenError):
        await um.validate_access_token(old.access_token)
    assert await um.authenticate("ann@example.org", PASSWORD)


async def test_a_restored_user_is_active_even_if_deactivated_before_deletion(
    um: UserManagement,
) -> None:
    """Restore undoes the deactivation that preceded the delete too: the user signs in again."""
    ann = await um.register_user("ann@example.org", PASSWORD)
    await um.update_user(ann.id, actor=SYSTEM, is_active=False)
    await um.delete_user(ann.id, actor=SYSTEM)

    restored = await um.restore_user(ann.id, actor=SYSTEM)

    assert restored.is_active is True
    assert (await um.get_user(ann.id, actor=SYSTEM)).is_active is True
    assert await um.authenticate("ann@example.org", PASSWORD)


async def test_restore_refuses_live_users_and_taken_emails(um: UserManagement) -> None:
    """Restoring a live user finds no deleted user; one whose email was re-registered conflicts."""
    ann = await um.register_user("ann@example.org", PASSWORD)
    with pytest.raises(UserNotDeletedError):
        await um.restore_user(ann.id, actor=SYSTEM)

    await um.delete_user(ann.id, actor=SYSTEM)
    await um.register_user("ANN@example.org", PASSWORD)
    with pytest.raises(EmailTakenError):
        await um.restore_user(ann.id, actor=SYSTEM)


async def test_only_admins_restore(um: UserManagement) -> None:
    """A plain user cannot restore anyone."""
    _, as_ann = await _signed_in(um, "ann@example.org")

    with pytest.raises(PermissionDeniedError):
        await um.restore_user(UserId(uuid.uuid4()), actor=as_ann)


async def test_revoke_sessions_counts_what_it_ended(um: UserManagement) -> None:
    """Revoking a user's sessions ends all of them and says how many."""
    ann, _ = await _signed_in(um, "ann@example.org")
    await um.authenticate("ann@example.org", PASSWORD)

    assert await um.revoke_sessions(ann.id, actor=SYSTEM) == 2
    with pytest.raises(UserNotFoundError):
        await um.revoke_sessions(UserId(uuid.uuid4()), actor=SYSTEM)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(count=st.integers(0, 23), per_page=st.integers(1, 7), deleted=st.sets(st.integers(0, 22)))
def test_numbered_pages_partition_the_live_users(
    count: int, per_page: int, deleted: set[int]
) -> None:
    """Pages 1, 2, ... (counted from either end internally) list every live user once, in order."""
    cheap = Settings(argon2_time_cost=1, argon2_memory_cost=8, argon2_parallelism=1)
    with UserManagement.in_memory(cheap).blocking() as um:
        users = [um.register_user(f"u{n}@example.org", PASSWORD) for n in range(count)]
        gone = {users[n].id for n in deleted if n < count}
        for user_id in gone:
            um.delete_user(user_id, actor=SYSTEM)
        ordered = sorted(users, key=lambda u: (u.created_at, u.id))
        live = [u.id for u in ordered if u.id not in gone]

        pages = [
            um.list_users(actor=SYSTEM, page=p, per_page=per_page)
            for p in range(1, count // per_page + 3)
        ]

    assert [u.id for page in pages for u in page.items] == live
    assert all(page.total == len(live) for page in pages)
    assert all(len(page.items) == per_page for page in pages[: len(live) // per_page])
