"""The facade's use-case methods: each derived from its use case's class, never restated.

``register_user = UseCaseMethod(RegisterUser)`` in the facade's class body
makes ``service.register_user(...)`` run the service's ``RegisterUser`` with
exactly its parameters, for mypy (a ``ParamSpec``), for editors and for
``help()`` (its signature and docstring are the use case's).

Every method records a refusal for who asked (a
:class:`~usermgmt.domain.errors.PermissionDeniedError`, a 403) in the audit
log before it raises it: the one place every use case passes through.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, Generic, ParamSpec, Protocol, Self, TypeVar, overload
from uuid import UUID

from usermgmt._service.wiring import UseCases
from usermgmt.domain.errors import PermissionDeniedError, UserMgmtError
from usermgmt.domain.model import Principal, SystemActor, UserId

log = logging.getLogger("usermgmt")

P = ParamSpec("P")
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Service(Protocol):
    """What a use-case method needs of the service it is read from: its wired use cases."""

    @property
    def use_cases(self) -> UseCases:
        """Every use case, typed."""
        ...


class UseCase(Protocol[P, T_co]):
    """What a use case is to the facade: an object called with arguments, awaited for a result."""

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, T_co]:
        """Run the use case."""
        ...


class UseCaseMethod(Generic[P, T]):
    """A facade method that runs the use case of its name, typed by the use case's ``__call__``.

    ``register_user = UseCaseMethod(RegisterUser)`` makes
    ``service.register_user(...)`` call the service's ``RegisterUser`` with
    exactly its parameters. On the class, the method is this descriptor, which
    can be called with the service first like a plain function.
    """

    def __init__(self, kind: type[UseCase[P, T]]) -> None:
        """Make a method running the use case of class *kind*."""
        self.kind = kind
        self.__name__ = kind.__name__
        self.__doc__ = _doc(kind)

    def __set_name__(self, owner: type[object], name: str) -> None:
        """Take the attribute's name: the use case is the service's use case of that name."""
        self.__name__ = name

    @overload
    def __get__(self, service: None, owner: type[object]) -> Self: ...
    @overload
    def __get__(
        self, service: Service, owner: type[object]
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...
    def __get__(
        self, service: Service | None, owner: type[object]
    ) -> Self | Callable[P, Coroutine[Any, Any, T]]:
        """Return the service's use case (or, on the class, this method)."""
        if service is None:
            return self
        use_case: Callable[P, Coroutine[Any, Any, T]] = getattr(service.use_cases, self.__name__)
        record = service.use_cases.record_refusal

        @functools.wraps(use_case)
        async def run(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return await use_case(*args, **kwargs)
            except PermissionDeniedError as refusal:
                actor = kwargs.get("actor")
                try:
                    await record(
                        refusal,
                        actor=actor if isinstance(actor, Principal | SystemActor) else None,
                        user_id=_named_user(args, kwargs),
                    )
                except UserMgmtError as exc:  # the refusal stands; its record waits for no one
                    log.warning("could not record a refused action: %s", exc)
                raise

        return run

    def __call__(
        self, service: Service, /, *args: P.args, **kwargs: P.kwargs
    ) -> Coroutine[Any, Any, T]:
        """Run the use case of *service*, as ``UserManagement.register_user(service, ...)`` does."""
        return self.__get__(service, type(service))(*args, **kwargs)


def _named_user(args: Sequence[object], kwargs: Mapping[str, object]) -> UserId | None:
    """Return the account a call named: its first positional UUID, or its ``user_id``."""
    for value in (*args, kwargs.get("user_id")):
        if isinstance(value, UUID):
            return UserId(value)
    return None


def _doc(kind: type[UseCase[Any, Any]]) -> str:
    summary = inspect.getdoc(kind) or ""
    details = inspect.getdoc(kind.__call__) or ""
    return f"{summary}\n\n{details}\n\nSee :class:`{kind.__module__}.{kind.__qualname__}`."
