"""One-time tokens: their form, and what voids them in the service."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import timedelta

import pytest

from usermgmt import SYSTEM, Role, Settings, UserManagement
from usermgmt._service import factories
from usermgmt.domain.model import UserId
from usermgmt.domain.onetime import OneTimeToken, Purpose, hash_one_time_token
from usermgmt.ports import UnitOfWork
from usermgmt.testing import ManualClock

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery staple"
CHEAP = {"argon2_time_cost": 1, "argon2_memory_cost": 8, "argon2_parallelism": 1}


def test_a_token_is_256_random_bits_stored_only_as_its_sha256() -> None:
    """The token decodes to 32 bytes; the stored form holds its digest, never the token."""
    clock = ManualClock()
    user_id = UserId(uuid.uuid4())
    token, stored = OneTimeToken.issue(
        user_id=user_id, purpose=Purpose.VERIFY_EMAIL, now=clock.now(), lifetime=timedelta(days=1)
    )
    other, _ = OneTimeToken.issue(
        user_id=user_id, purpose=Purpose.VERIFY_EMAIL, now=clock.now(), lifetime=timedelta(days=1)
    )

    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) == 32
    assert token != other
    assert stored.token_hash == hashlib.sha256(token.encode()).digest()
    assert stored.token_hash == hash_one_time_token(token)
    assert token not in repr(stored)
    assert stored.token_hash.hex() not in repr(stored)
    assert stored.expires_at - stored.issued_at == timedelta(days=1)


async def _service_with_uow() -> tuple[UserManagement, UnitOfWork, ManualClock]:
    clock = ManualClock()
    parts = factories.in_memory_parts(Settings().evolve(**CHEAP), clock=clock)
    return UserManagement(parts), parts.uow, clock


async def _issue_all(uow: UnitOfWork, user_id: UserId, clock: ManualClock) -> list[str]:
    tokens = []
    async with uow() as tx:
        for purpose in Purpose:
            token, stored = OneTimeToken.issue(
                user_id=user_id, purpose=purpose, now=clock.now(), lifetime=timedelta(hours=1)
            )
            await tx.one_time_tokens.issue(stored)
            tokens.append(token)
    return tokens


async def _spendable(uow: UnitOfWork, tokens: list[str], clock: ManualClock) -> list[bool]:
    async with uow() as tx:
        return [
            await tx.one_time_tokens.spend(hash_one_time_token(token), purpose, clock.now())
            is not None
            for token, purpose in zip(tokens, Purpose, strict=True)
        ]


async def test_a_password_change_voids_every_one_time_token_of_the_user() -> None:
    """A link mailed before the password changed does not work after it; others' links do."""
    um, uow, clock = await _service_with_uow()
    async with um:
        ann = await um.register_user("ann@example.org", PASSWORD, "Ann")
        bob = await um.register_user("bob@example.org", PASSWORD, "Bob")
        anns = await _issue_all(uow, ann.id, clock)
        bobs = await _issue_all(uow, bob.id, clock)

        await um.change_password(ann.id, "a new and different passphrase", actor=SYSTEM)

        assert await _spendable(uow, anns, clock) == [False] * len(Purpose)
        assert await _spendable(uow, bobs, clock) == [True] * len(Purpose)


@pytest.mark.parametrize("how", ["deactivate", "delete"])
async def test_a_shut_out_user_loses_every_one_time_token(how: str) -> None:
    """Deactivation and deletion void the user's links too."""
    um, uow, clock = await _service_with_uow()
    async with um:
        ann = await um.register_user("ann@example.org", PASSWORD, "Ann")
        await um.register_user("root@example.org", PASSWORD, "Root", role=Role.ADMIN, actor=SYSTEM)
        tokens = await _issue_all(uow, ann.id, clock)

        if how == "deactivate":
            await um.update_user(ann.id, actor=SYSTEM, is_active=False)
        else:
            await um.delete_user(ann.id, actor=SYSTEM)

        assert await _spendable(uow, tokens, clock) == [False] * len(Purpose)
