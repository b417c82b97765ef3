"""In-memory storage: a real implementation of the storage ports, without a database.

For unit tests and for embedders who want no database. It honours the same
contract as PostgreSQL (the same test suite runs against both): unique emails
among live users, serialized transactions that roll back on error, single-use
refresh tokens. State lives in one process and one event loop.
"""

from usermgmt.adapters.memory.attempts import InMemoryLoginAttemptStore
from usermgmt.adapters.memory.audit import InMemoryAuditLog, InMemoryAuditTable
from usermgmt.adapters.memory.credentials import InMemoryCredentialStore
from usermgmt.adapters.memory.database import InMemoryDatabase, StoredCounter
from usermgmt.adapters.memory.devices import InMemoryDeviceTokenStore
from usermgmt.adapters.memory.outbox import InMemoryEventOutbox, InMemoryOutbox, InMemoryOutboxStore
from usermgmt.adapters.memory.secrets import InMemoryServiceSecrets
from usermgmt.adapters.memory.sessions import InMemorySessionStore
from usermgmt.adapters.memory.unit_of_work import InMemoryRepositories, InMemoryUnitOfWork
from usermgmt.adapters.memory.users import InMemoryUserRepository

__all__ = [
    "InMemoryAuditLog",
    "InMemoryAuditTable",
    "InMemoryCredentialStore",
    "InMemoryDatabase",
    "InMemoryDeviceTokenStore",
    "InMemoryEventOutbox",
    "InMemoryLoginAttemptStore",
    "InMemoryOutbox",
    "InMemoryOutboxStore",
    "InMemoryRepositories",
    "InMemoryServiceSecrets",
    "InMemorySessionStore",
    "InMemoryUnitOfWork",
    "InMemoryUserRepository",
    "StoredCounter",
]
