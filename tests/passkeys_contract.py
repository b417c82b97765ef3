"""The contract of the passkey part of ``CredentialStore`` and of ``CeremonyStore``.

A subclass provides the ``uow`` fixture; the in-memory subclasses live in
``tests/unit/``, the PostgreSQL ones in ``tests/integration/``.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

import anyio
import attrs
import pytest

from tests.contracts import NOW, add_user, make_user
from usermgmt.domain.credentials import CredentialId
from usermgmt.domain.model import User
from usermgmt.domain.passkeys import CEREMONY_LIFETIME, Ceremony, CeremonyKind, PasskeyCredential
from usermgmt.ports import UnitOfWork


def make_passkey(user: User, *, sign_count: int = 0, name: str = "Laptop") -> PasskeyCredential:
    """Return a new passkey of *user* with fresh ids, registered at NOW."""
    return PasskeyCredential(
        id=CredentialId(uuid.uuid4()),
        user_id=user.id,
        credential_id=secrets.token_bytes(32),
        public_key=secrets.token_bytes(77),
        sign_count=sign_count,
        name=name,
        transports=("hybrid", "internal"),
        backed_up=True,
        aaguid="7573726d-676d-742d-7669-727475616c31",
        created_at=NOW,
        updated_at=NOW,
    )


async def add_passkey(uow: UnitOfWork, passkey: PasskeyCredential) -> PasskeyCredential:
    """Store *passkey* in its own transaction."""
    async with uow() as tx:
        assert await tx.credentials.add_passkey(passkey)
    return passkey


class PasskeyStoreContract:
    """What every credential store must do with passkeys."""

    @pytest.fixture
    def uow(self) -> UnitOfWork:
        raise NotImplementedError

    async def test_a_passkey_reads_back_equal_by_user_and_at_login(self, uow: UnitOfWork) -> None:
        """Every field comes back, listed with its user's and found by its credential ID."""
        user = await add_user(uow, make_user())
        passkey = await add_passkey(uow, make_passkey(user, sign_count=7))

        async with uow.standalone() as repos:
            listed = await repos.credentials.passkeys(user.id)
            at_login = await repos.credentials.passkey_for_login(passkey.credential_id)

        assert listed == [passkey]
        assert at_login == (user, passkey)

    async def test_a_users_passkeys_are_theirs_oldest_first(self, uow: UnitOfWork) -> None:
        """Another user's passkeys are not listed; a user's come in the order they were made."""
        ann = await add_user(uow, make_user())
        bob = await add_user(uow, make_user("bob@example.org"))
        later = attrs.evolve(make_passkey(ann, name="Phone"), created_at=NOW + timedelta(hours=1))
        await add_passkey(uow, later)
        first = await add_passkey(uow, make_passkey(ann))
        await add_passkey(uow, make_passkey(bob))

        async with uow.standalone() as repos:
            assert await repos.credentials.passkeys(ann.id) == [first, later]
            assert await repos.credentials.passkeys(make_user().id) == []

    async def test_a_credential_id_is_registered_once(self, uow: UnitOfWork) -> None:
        """A second passkey with a taken credential ID is refused, and the transaction goes on."""
        ann = await add_user(uow, make_user())
        bob = await add_user(uow, make_user("bob@example.org"))
        taken = await add_passkey(uow, make_passkey(ann))
        again = attrs.evolve(make_passkey(bob), credential_id=taken.credential_id)
        other = make_passkey(bob)

        async with uow() as tx:
            assert not await tx.credentials.add_passkey(again)
            assert await tx.credentials.add_passkey(other)

        async with uow.standalone() as repos:
            assert await repos.credentials.passkeys(bob.id) == [other]

    async def test_an_unknown_credential_or_a_deleted_user_signs_nobody_in(
        self, uow: UnitOfWork
    ) -> None:
        """No passkey with the ID, or its user soft-deleted: nothing is found."""
        user = await add_user(uow, make_user())
        passkey = await add_passkey(uow, make_passkey(user))
        async with uow() as tx:
            await tx.users.update(user.deleted(NOW))

        async with uow.standalone() as repos:
            assert await repos.credentials.passkey_for_login(secrets.token_bytes(32)) is None
            assert await repos.credentials.passkey_for_login(passkey.credential_id) is None

    async def test_the_counter_moves_only_from_the_value_expected(self, uow: UnitOfWork) -> None:
        """Compare-and-set: a stale expectation changes nothing; a right one moves it."""
        user = await add_user(uow, make_user())
        passkey = await add_passkey(uow, make_passkey(user, sign_count=3))
        later = NOW + timedelta(minutes=1)

        async with uow.standalone() as repos:
            stale = await repos.credentials.update_passkey_counter(
                passkey.id, expected=2, sign_count=9, backed_up=False, now=later
            )
            moved = await repos.credentials.update_passkey_counter(
                passkey.id, expected=3, sign_count=4, backed_up=False, now=later
            )
            (stored,) = await repos.credentials.passkeys(user.id)

        assert (stale, moved) == (False, True)
        assert (stored.sign_count, stored.backed_up, stored.updated_at) == (4, False, later)

    async def test_of_two_counter_updates_at_once_one_wins(self, uow: UnitOfWork) -> None:
        """Two sign-ins that read the same counter: exactly one moves it."""
        user = await add_user(uow, make_user())
        passkey = await add_passkey(uow, make_passkey(user, sign_count=5))
        results: list[bool] = []

        async def update(count: int) -> None:
            async with uow() as tx:
                results.append(
                    await tx.credentials.update_passkey_counter(
                        passkey.id, expected=5, sign_count=count, backed_up=True, now=NOW
                    )
                )

        async with anyio.create_task_group() as tg:
            tg.start_soon(update, 6)
            tg.start_soon(update, 7)

        assert sorted(results) == [False, True]

    async def test_a_sign_in_marks_the_passkey_used(self, uow: UnitOfWork) -> None:
        """``mark_used`` records the time on a passkey as on a password."""
        user = await add_user(uow, make_user())
        passkey = await add_passkey(uow, make_passkey(user))
        later = NOW + timedelta(hours=2)

        async with uow() as tx:
            await tx.credentials.mark_used(passkey.id, later)

        async with uow.standalone() as repos:
            (stored,) = await repos.credentials.passkeys(user.id)
        assert stored.last_used_at == later

    async def test_only_its_owner_removes_a_passkey(self, uow: UnitOfWork) -> None:
        """Another user's id removes nothing; the owner's removes it, once."""
        ann = await add_user(uow, make_user())
        bob = await add_user(uow, make_user("bob@example.org"))
        passkey = await add_passkey(uow, make_passkey(ann))

        async with uow() as tx:
            by_bob = await tx.credentials.remove_passkey(bob.id, passkey.id)
        async with uow() as tx:
            by_ann = await tx.credentials.remove_passkey(ann.id, passkey.id)
            again = await tx.credentials.remove_passkey(ann.id, passkey.id)

        assert (by_bob, by_ann, again) == (False, True, False)
        async with uow.standalone() as repos:
            assert await repos.credentials.passkeys(ann.id) == []
            assert await repos.credentials.passkey_for_login(passkey.credential_id) is None

    async def test_a_removal_rolled_back_leaves_the_passkey(self, uow: UnitOfWork) -> None:
        """The removal is part of its unit of work."""
        user = await add_user(uow, make_user())
        passkey = await add_passkey(uow, make_passkey(user))

        with pytest.raises(RuntimeError):  # noqa: PT012 - the transaction is the unit under test
            async with uow() as tx:
                assert await tx.credentials.remove_passkey(user.id, passkey.id)
                raise RuntimeError

        async with uow.standalone() as repos:
            assert await repos.credentials.passkeys(user.id) == [passkey]


class CeremonyStoreContract:
    """What every ``CeremonyStore`` must do."""

    @pytest.fixture
    def uow(self) -> UnitOfWork:
        raise NotImplementedError

    async def test_a_ceremony_is_spent_once(self, uow: UnitOfWork) -> None:
        """The first spend returns it, field for field; the next finds nothing."""
        user = await add_user(uow, make_user())
        ceremony = Ceremony.begin(kind=CeremonyKind.REGISTRATION, user_id=user.id, now=NOW)

        async with uow.standalone() as repos:
            await repos.ceremonies.add(ceremony)
            first = await repos.ceremonies.spend(ceremony.id, CeremonyKind.REGISTRATION, NOW)
            second = await repos.ceremonies.spend(ceremony.id, CeremonyKind.REGISTRATION, NOW)

        assert first == ceremony
        assert len(ceremony.challenge) >= 32
        assert second is None

    async def test_a_ceremony_of_another_kind_or_expired_is_not_spent(
        self, uow: UnitOfWork
    ) -> None:
        """A sign-in's challenge never answers a registration; after 5 minutes nothing does."""
        ceremony = Ceremony.begin(kind=CeremonyKind.AUTHENTICATION, user_id=None, now=NOW)
        expiry = NOW + CEREMONY_LIFETIME

        async with uow.standalone() as repos:
            await repos.ceremonies.add(ceremony)
            wrong_kind = await repos.ceremonies.spend(ceremony.id, CeremonyKind.REGISTRATION, NOW)
            expired = await repos.ceremonies.spend(ceremony.id, ceremony.kind, expiry)
            just_in_time = await repos.ceremonies.spend(
                ceremony.id, ceremony.kind, expiry - timedelta(microseconds=1)
            )

        assert (wrong_kind, expired) == (None, None)
        assert just_in_time == ceremony

    async def test_of_two_spends_at_once_one_wins(self, uow: UnitOfWork) -> None:
        """A response replayed in parallel is accepted at most once."""
        ceremony = Ceremony.begin(kind=CeremonyKind.AUTHENTICATION, user_id=None, now=NOW)
        async with uow.standalone() as repos:
            await repos.ceremonies.add(ceremony)
        spent: list[Ceremony | None] = []

        async def spend() -> None:
            async with uow.standalone() as repos:
                spent.append(await repos.ceremonies.spend(ceremony.id, ceremony.kind, NOW))

        async with anyio.create_task_group() as tg:
            tg.start_soon(spend)
            tg.start_soon(spend)

        assert sorted(spent, key=lambda c: c is None) == [ceremony, None]

    async def test_a_purge_forgets_expired_ceremonies_only(self, uow: UnitOfWork) -> None:
        """Ceremonies that expired before the cut go; the live ones stay."""
        old = Ceremony.begin(
            kind=CeremonyKind.AUTHENTICATION, user_id=None, now=NOW - timedelta(hours=1)
        )
        live = Ceremony.begin(kind=CeremonyKind.AUTHENTICATION, user_id=None, now=NOW)

        async with uow.standalone() as repos:
            await repos.ceremonies.add(old)
            await repos.ceremonies.add(live)
            purged = await repos.ceremonies.purge(NOW)
            gone = await repos.ceremonies.spend(old.id, old.kind, old.created_at)
            kept = await repos.ceremonies.spend(live.id, live.kind, NOW)

        assert purged == 1
        assert gone is None
        assert kept == live
