"""The composition root: builds the use cases on concrete adapters.

Only this package names adapters: ``factories`` makes the parts (adapters
from settings; ``codec`` and ``mail`` the token codec and the mailer among
them), ``wiring`` builds every use case on them once, ``facade``
is ``UserManagement`` (its use-case methods derived by ``methods``),
``blocking`` its synchronous twin.
"""

from usermgmt._service.blocking import BlockingUserManagement
from usermgmt._service.facade import UserManagement
from usermgmt._service.health import Readiness

__all__ = ["BlockingUserManagement", "Readiness", "UserManagement"]
