"""The ports: what the domain needs from the outside world, as ``typing.Protocol``s."""

from usermgmt.ports.audit import AuditLog
from usermgmt.ports.clock import Clock, IdGenerator
from usermgmt.ports.events import EventOutbox, OutboxStore
from usermgmt.ports.repositories import (
    CeremonyStore,
    CredentialStore,
    DeviceTokenStore,
    OneTimeTokenStore,
    Repositories,
    SessionStore,
    UnitOfWork,
    UserRepository,
)
from usermgmt.ports.security import PasswordHasher, ServiceSecrets, TokenCodec
from usermgmt.ports.throttle import LoginAttemptStore

__all__ = [
    "AuditLog",
    "CeremonyStore",
    "Clock",
    "CredentialStore",
    "DeviceTokenStore",
    "EventOutbox",
    "IdGenerator",
    "LoginAttemptStore",
    "OneTimeTokenStore",
    "OutboxStore",
    "PasswordHasher",
    "Repositories",
    "ServiceSecrets",
    "SessionStore",
    "TokenCodec",
    "UnitOfWork",
    "UserRepository",
]
