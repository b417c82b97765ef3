"""The contract of the credential store (``CredentialStore``), for every adapter.

A subclass provides the ``uow`` fixture; the in-memory subclass lives in
``tests/unit/``, the PostgreSQL one in ``tests/integration/``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import anyio
import attrs
import pytest

from tests.contracts import NOW, add_user, make_user
from usermgmt import UserManagement
from usermgmt.domain.credentials import (
    CredentialId,
    PasswordCredential,
    RecoveryCode,
    TotpCredential,
)
from usermgmt.domain.model import Email, User, UserId
from usermgmt.ports import UnitOfWork

HASH = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA"


def make_password(user: User, password_hash: str = HASH) -> PasswordCredential:
    """Return a first password of *user* with a fresh id, set at NOW."""
    return PasswordCredential.set(
        id=CredentialId(uuid.uuid4()), user_id=user.id, password_hash=password_hash, now=NOW
    )


async def add_user_with_password(
    uow: UnitOfWork, user: User, password_hash: str = HASH
) -> PasswordCredential:
    """Store *user* and their password in one transaction, as registration does."""
    credential = make_password(user, password_hash)
    async with uow() as tx:
        await tx.users.add(user)
        await tx.credentials.add_password(credential)
    return credential


async def stored_password(um: UserManagement, user_id: UserId) -> PasswordCredential:
    """Return the password that *um* stores for *user_id*, read from its storage."""
    async with um._parts.uow.standalone() as repos:
        stored = await repos.credentials.password(user_id)
    assert stored is not None
    return stored


class CredentialStoreContract:
    """What every ``CredentialStore`` (with its unit of work) must do."""

    @pytest.fixture
    def uow(self) -> UnitOfWork:
        raise NotImplementedError

    async def test_a_stored_password_reads_back_equal(self, uow: UnitOfWork) -> None:
        """What is added comes back field for field, by user and with the user at login."""
        user = make_user()
        credential = await add_user_with_password(uow, user)

        async with uow.standalone() as repos:
            by_user = await repos.credentials.password(user.id)
            at_login = await repos.credentials.for_login(Email.parse("ANN@example.org"))

        assert by_user == credential
        assert at_login == (user, credential)

    async def test_a_user_has_one_password(self, uow: UnitOfWork) -> None:
        """A second first password is refused, and its transaction leaves nothing behind."""
        user = make_user()
        first = await add_user_with_password(uow, user)

        with pytest.raises(ValueError, match="has a password already"):
            async with uow() as tx:
                await tx.credentials.add_password(make_password(user, "another hash"))

        async with uow.standalone() as repos:
            assert await repos.credentials.password(user.id) == first

    async def test_a_failed_registration_leaves_no_password(self, uow: UnitOfWork) -> None:
        """A user and password added in a transaction that then fails are both gone."""
        user = make_user()

        with pytest.raises(ValueError, match="has a password already"):  # noqa: PT012 - the transaction is the unit under test
            async with uow() as tx:
                await tx.users.add(user)
                await tx.credentials.add_password(make_password(user))
                await tx.credentials.add_password(make_password(user))

        async with uow.standalone() as repos:
            assert await repos.credentials.password(user.id) is None
            assert await repos.credentials.for_login(user.email) is None

    async def test_login_finds_live_users_only_with_or_without_a_password(
        self, uow: UnitOfWork
    ) -> None:
        """Unknown and deleted users are not found; a user without a password comes alone."""
        gone = make_user("gone@example.org")
        await add_user_with_password(uow, gone)
        async with uow() as tx:
            await tx.users.update(gone.deleted(NOW))
        bare = await add_user(uow, make_user("bare@example.org"))

        async with uow.standalone() as repos:
            deleted = await repos.credentials.for_login(gone.email)
            unknown = await repos.credentials.for_login(Email.parse("nobody@example.org"))
            without = await repos.credentials.for_login(bare.email)
            none_stored = await repos.credentials.password(bare.id)

        assert (deleted, unknown, none_stored) == (None, None, None)
        assert without == (bare, None)

    async def test_password_hash_is_replaced_only_if_unchanged(self, uow: UnitOfWork) -> None:
        """The rehash-on-login swap is a compare-and-set, and no change of the password."""
        user = make_user()
        credential = await add_user_with_password(uow, user)

        async with uow.standalone() as repos:
            swapped = await repos.credentials.replace_password_hash(
                credential.id, credential.password_hash, "new"
            )
            stale = await repos.credentials.replace_password_hash(
                credential.id, credential.password_hash, "newer"
            )
            stored = await repos.credentials.password(user.id)

        assert (swapped, stale) == (True, False)
        assert stored == attrs.evolve(credential, password_hash="new")

    async def test_a_changed_password_keeps_its_id_and_says_when(self, uow: UnitOfWork) -> None:
        """A change stores the new hash and change time; the id and creation time stay."""
        user = make_user()
        credential = await add_user_with_password(uow, user)
        later = NOW + timedelta(days=3)

        async with uow() as tx:
            current = await tx.credentials.password(user.id, for_update=True)
            assert current is not None
            await tx.credentials.change_password(current.changed("changed hash", later))
        async with uow.standalone() as repos:
            stored = await repos.credentials.password(user.id)
            at_login = await repos.credentials.for_login(user.email)

        expected = attrs.evolve(credential, password_hash="changed hash", updated_at=later)
        assert stored == expected
        assert at_login == (user, expected)

    async def test_the_last_use_is_recorded_and_never_goes_back(self, uow: UnitOfWork) -> None:
        """Sign-ins that finish out of order leave the latest time."""
        user = make_user()
        credential = await add_user_with_password(uow, user)
        first, second = NOW + timedelta(minutes=1), NOW + timedelta(minutes=2)

        async with uow() as tx:
            await tx.credentials.mark_used(credential.id, second)
        async with uow() as tx:
            await tx.credentials.mark_used(credential.id, first)
        async with uow.standalone() as repos:
            stored = await repos.credentials.password(user.id)

        assert stored == attrs.evolve(credential, last_used_at=second)

    async def test_passwords_belong_to_their_own_users(self, uow: UnitOfWork) -> None:
        """Two users' passwords are apart: changing one leaves the other."""
        ann, bob = make_user(), make_user("bob@example.org")
        anns = await add_user_with_password(uow, ann, "ann's hash")
        bobs = await add_user_with_password(uow, bob, "bob's hash")

        async with uow() as tx:
            await tx.credentials.change_password(anns.changed("ann's new hash", NOW))
        async with uow.standalone() as repos:
            assert await repos.credentials.password(bob.id) == bobs
            assert await repos.credentials.for_login(bob.email) == (bob, bobs)

    # --- second factors ----------------------------------------------------------------------

    async def test_a_totp_key_reads_back_and_a_new_one_replaces_it(self, uow: UnitOfWork) -> None:
        """A user has one TOTP key: set, read back field for field, replaced by the next."""
        user = make_user()
        await add_user_with_password(uow, user)
        first, second = make_totp(user), make_totp(user)

        async with uow() as tx:
            await tx.credentials.set_totp(first)
        async with uow.standalone() as repos:
            assert await repos.credentials.totp(user.id) == first
        async with uow() as tx:
            await tx.credentials.set_totp(second)
            assert await tx.credentials.totp(user.id, for_update=True) == second
        async with uow.standalone() as repos:
            assert await repos.credentials.totp(user.id) == second
            assert await repos.credentials.password(user.id) is not None  # untouched

    async def test_confirming_a_key_is_a_compare_and_set(self, uow: UnitOfWork) -> None:
        """A pending key is confirmed once, with its first accepted step."""
        user = make_user()
        await add_user_with_password(uow, user)
        key = make_totp(user)
        later = NOW + timedelta(minutes=1)
        async with uow() as tx:
            await tx.credentials.set_totp(key)

        async with uow.standalone() as repos:
            first = await repos.credentials.confirm_totp(key.id, 100, later)
            again = await repos.credentials.confirm_totp(key.id, 101, later)
            stored = await repos.credentials.totp(user.id)

        assert (first, again) == (True, False)
        assert stored == attrs.evolve(
            key, confirmed=True, last_step=100, updated_at=later, last_used_at=later
        )

    async def test_a_step_is_accepted_once_and_only_forward(self, uow: UnitOfWork) -> None:
        """The last accepted step only moves forward; a pending key accepts nothing."""
        user = make_user()
        await add_user_with_password(uow, user)
        key = make_totp(user)
        async with uow() as tx:
            await tx.credentials.set_totp(key)

        async with uow.standalone() as repos:
            pending = await repos.credentials.accept_totp_step(key.id, 99, NOW)
            await repos.credentials.confirm_totp(key.id, 100, NOW)
            same = await repos.credentials.accept_totp_step(key.id, 100, NOW)
            earlier = await repos.credentials.accept_totp_step(key.id, 99, NOW)
            later = await repos.credentials.accept_totp_step(key.id, 101, NOW)
            stored = await repos.credentials.totp(user.id)

        assert (pending, same, earlier, later) == (False, False, False, True)
        assert stored is not None
        assert stored.last_step == 101

    async def test_one_step_used_twice_at_once_is_accepted_once(self, uow: UnitOfWork) -> None:
        """Two transactions accepting the same step concurrently: exactly one succeeds."""
        user = make_user()
        await add_user_with_password(uow, user)
        key = attrs.evolve(make_totp(user), confirmed=True, last_step=1)
        async with uow() as tx:
            await tx.credentials.set_totp(key)
        results: list[bool] = []

        async def accept() -> None:
            async with uow() as tx:
                results.append(await tx.credentials.accept_totp_step(key.id, 2, NOW))

        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(accept)
        assert sorted(results) == [False, False, False, True]

    async def test_recovery_codes_are_replaced_as_a_set_and_spent_once(
        self, uow: UnitOfWork
    ) -> None:
        """A new set voids the old; a code is spent once, and only its owner's."""
        ann, bob = make_user(), make_user("bob@example.org")
        await add_user_with_password(uow, ann)
        await add_user_with_password(uow, bob)
        old = [make_code(ann, f"old-{n}") for n in range(3)]
        new = [make_code(ann, f"new-{n}") for n in range(2)]

        async with uow() as tx:
            await tx.credentials.replace_recovery_codes(ann.id, old)
            await tx.credentials.replace_recovery_codes(bob.id, [make_code(bob, "bob's")])
        async with uow() as tx:
            await tx.credentials.replace_recovery_codes(ann.id, new)
        async with uow.standalone() as repos:
            voided = await repos.credentials.spend_recovery_code(ann.id, "old-0")
            not_hers = await repos.credentials.spend_recovery_code(ann.id, "bob's")
            spent = await repos.credentials.spend_recovery_code(ann.id, "new-0")
            again = await repos.credentials.spend_recovery_code(ann.id, "new-0")
            left = await repos.credentials.count_recovery_codes(ann.id)
            bobs = await repos.credentials.count_recovery_codes(bob.id)

        assert (voided, not_hers, spent, again) == (False, False, True, False)
        assert (left, bobs) == (1, 1)

    async def test_one_recovery_code_used_twice_at_once_is_spent_once(
        self, uow: UnitOfWork
    ) -> None:
        """Concurrent spends of one code: exactly one succeeds."""
        user = make_user()
        await add_user_with_password(uow, user)
        async with uow() as tx:
            await tx.credentials.replace_recovery_codes(user.id, [make_code(user, "only")])
        results: list[bool] = []

        async def spend() -> None:
            async with uow() as tx:
                results.append(await tx.credentials.spend_recovery_code(user.id, "only"))

        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(spend)
        assert sorted(results) == [False, False, False, True]

    async def test_removing_second_factors_keeps_the_password(self, uow: UnitOfWork) -> None:
        """The TOTP key and the recovery codes go, the password stays; a rollback keeps all."""
        user = make_user()
        password = await add_user_with_password(uow, user)
        async with uow() as tx:
            await tx.credentials.set_totp(make_totp(user))
            await tx.credentials.replace_recovery_codes(
                user.id, [make_code(user, "a"), make_code(user, "b")]
            )

        with pytest.raises(RuntimeError):  # noqa: PT012 - the transaction is the unit under test
            async with uow() as tx:
                await tx.credentials.remove_second_factors(user.id)
                raise RuntimeError
        async with uow.standalone() as repos:
            assert await repos.credentials.count_recovery_codes(user.id) == 2
        async with uow() as tx:
            removed = await tx.credentials.remove_second_factors(user.id)
        async with uow.standalone() as repos:
            assert await repos.credentials.totp(user.id) is None
            assert await repos.credentials.count_recovery_codes(user.id) == 0
            assert await repos.credentials.password(user.id) == password
        assert removed == 3

    async def test_mfa_enabled_is_stored_with_the_user(self, uow: UnitOfWork) -> None:
        """The user's ``mfa_enabled`` round-trips, also as login reads the user."""
        user = make_user()
        await add_user_with_password(uow, user)
        on = user.with_mfa(enabled=True, now=NOW)
        async with uow() as tx:
            await tx.users.update(on)
        async with uow.standalone() as repos:
            assert await repos.users.get(user.id) == on
            found = await repos.credentials.for_login(user.email)
        assert found is not None
        assert found[0].mfa_enabled


def make_totp(user: User) -> TotpCredential:
    """Return a pending TOTP key of *user* with a fresh id, set up at NOW."""
    return TotpCredential.enrol(
        id=CredentialId(uuid.uuid4()), user_id=user.id, secret="JBSWY3DPEHPK3PXP", now=NOW
    )


def make_code(user: User, code_hash: str) -> RecoveryCode:
    """Return a recovery code of *user* stored under *code_hash*."""
    return RecoveryCode(
        id=CredentialId(uuid.uuid4()), user_id=user.id, code_hash=code_hash, created_at=NOW
    )
