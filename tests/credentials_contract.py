"""The contract of the credential store (``CredentialStore``), for every adapter.

A subclass provides the ``uow`` fixture; the in-memory subclass lives in
``tests/unit/``, the PostgreSQL one in ``tests/integration/``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import attrs
import pytest

from tests.contracts import NOW, add_user, make_user
from usermgmt import UserManagement
from usermgmt.domain.credentials import CredentialId, PasswordCredential
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
