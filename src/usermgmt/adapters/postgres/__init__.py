"""PostgreSQL adapters: raw SQL on psycopg 3's async API, pooled by psycopg-pool."""

from usermgmt.adapters.postgres.attempts import PostgresLoginAttemptStore
from usermgmt.adapters.postgres.audit import PostgresAuditLog
from usermgmt.adapters.postgres.credentials import PostgresCredentialStore
from usermgmt.adapters.postgres.database import PostgresDatabase, PostgresUnitOfWork
from usermgmt.adapters.postgres.devices import PostgresDeviceTokenStore
from usermgmt.adapters.postgres.events import PostgresEventOutbox
from usermgmt.adapters.postgres.migrate import MigrationState, Migrator
from usermgmt.adapters.postgres.outbox import PostgresOutboxStore
from usermgmt.adapters.postgres.secrets import PostgresServiceSecrets
from usermgmt.adapters.postgres.sessions import PostgresSessionStore
from usermgmt.adapters.postgres.users import PostgresUserRepository

__all__ = [
    "MigrationState",
    "Migrator",
    "PostgresAuditLog",
    "PostgresCredentialStore",
    "PostgresDatabase",
    "PostgresDeviceTokenStore",
    "PostgresEventOutbox",
    "PostgresLoginAttemptStore",
    "PostgresOutboxStore",
    "PostgresServiceSecrets",
    "PostgresSessionStore",
    "PostgresUnitOfWork",
    "PostgresUserRepository",
]
