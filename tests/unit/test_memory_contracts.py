"""The storage contracts, on the in-memory adapters."""

from __future__ import annotations

import pytest

from tests.audit_contract import AuditLogContract
from tests.contracts import (
    DeviceTokenStoreContract,
    LoginAttemptStoreContract,
    SessionStoreContract,
    UserRepositoryContract,
)
from tests.credentials_contract import CredentialStoreContract
from tests.dispatch_contract import DispatcherContract
from tests.mail_delivery_contract import MailDeliveryContract
from tests.onetime_contract import OneTimeTokenStoreContract
from tests.outbox_contract import Outbox, OutboxContract
from tests.passkeys_contract import CeremonyStoreContract, PasskeyStoreContract
from usermgmt.adapters.memory import (
    InMemoryLoginAttemptStore,
    InMemoryOutboxStore,
    InMemoryUnitOfWork,
)
from usermgmt.ports import LoginAttemptStore, UnitOfWork

pytestmark = pytest.mark.anyio


class TestInMemoryUsers(UserRepositoryContract):
    @pytest.fixture
    def uow(self) -> UnitOfWork:
        return InMemoryUnitOfWork()


class TestInMemoryCredentials(CredentialStoreContract):
    @pytest.fixture
    def uow(self) -> UnitOfWork:
        return InMemoryUnitOfWork()


class TestInMemorySessions(SessionStoreContract):
    @pytest.fixture
    def uow(self) -> UnitOfWork:
        return InMemoryUnitOfWork()


class TestInMemoryDeviceTokens(DeviceTokenStoreContract):
    @pytest.fixture
    def uow(self) -> UnitOfWork:
        return InMemoryUnitOfWork()


class TestInMemoryOneTimeTokens(OneTimeTokenStoreContract):
    @pytest.fixture
    def uow(self) -> UnitOfWork:
        return InMemoryUnitOfWork()


class TestInMemoryLoginAttempts(LoginAttemptStoreContract):
    @pytest.fixture
    def attempts(self) -> LoginAttemptStore:
        return InMemoryLoginAttemptStore()


class TestInMemoryOutbox(OutboxContract):
    @pytest.fixture
    def outbox(self) -> Outbox:
        uow = InMemoryUnitOfWork()
        return Outbox(uow, InMemoryOutboxStore(uow.db.outbox))


class TestInMemoryDispatcher(DispatcherContract):
    @pytest.fixture
    def outbox(self) -> Outbox:
        uow = InMemoryUnitOfWork()
        return Outbox(uow, InMemoryOutboxStore(uow.db.outbox))


class TestInMemoryMailDelivery(MailDeliveryContract):
    @pytest.fixture
    def outbox(self) -> Outbox:
        uow = InMemoryUnitOfWork()
        return Outbox(uow, InMemoryOutboxStore(uow.db.outbox))


class TestInMemoryAuditLog(AuditLogContract):
    @pytest.fixture
    def uow(self) -> UnitOfWork:
        return InMemoryUnitOfWork()


class TestInMemoryPasskeys(PasskeyStoreContract):
    @pytest.fixture
    def uow(self) -> UnitOfWork:
        return InMemoryUnitOfWork()


class TestInMemoryCeremonies(CeremonyStoreContract):
    @pytest.fixture
    def uow(self) -> UnitOfWork:
        return InMemoryUnitOfWork()
