"""The HTTP application: ``create_app(service, settings)``, and a factory for uvicorn.

Nothing connects at import time: the application's lifespan opens the
service (and its connection pool) at start-up and closes it at shutdown;
in between it delivers the service's events to their subscribers and sweeps
expired state.
Run it with ``usermgmt serve``, or ``uvicorn --factory
usermgmt.entrypoints.http.app:create_app_from_env``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Final

import anyio
from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.stores.base import Store
from litestar.types import ControllerRouterHandler

from usermgmt import Settings, UserManagement, UserMgmtError
from usermgmt.entrypoints.footprint import left_unloaded, load_token_library
from usermgmt.entrypoints.http.access_log import REQUEST_ID_HEADER, AccessLog
from usermgmt.entrypoints.http.allow import AllowedMethods
from usermgmt.entrypoints.http.audit import AuditController
from usermgmt.entrypoints.http.auth import AuthController
from usermgmt.entrypoints.http.limits import EXEMPT_BY_DEFAULT, STORE, rate_limit
from usermgmt.entrypoints.http.mfa import MfaController
from usermgmt.entrypoints.http.openapi import finish_openapi, openapi_config
from usermgmt.entrypoints.http.pages import PAGES
from usermgmt.entrypoints.http.passkeys import PasskeysController
from usermgmt.entrypoints.http.problems import (
    MAX_BODY_BYTES,
    problem_details_plugin,
    too_deep,
    unexpected,
)
from usermgmt.entrypoints.http.proxies import TrustedProxies
from usermgmt.entrypoints.http.sessions import SessionsController
from usermgmt.entrypoints.http.strict import InputGate, StrictRequest
from usermgmt.entrypoints.http.system import health, index, jwks_route, liveness, readiness
from usermgmt.entrypoints.http.users import UsersController

log = logging.getLogger("usermgmt.http")

SWEEP_INTERVAL: Final = 600.0
"""Seconds between two sweeps of expired state: rate-limit windows, ended sessions, old counters."""

_EXPOSED_HEADERS: Final = [
    "Location",
    "Retry-After",
    "WWW-Authenticate",
    "RateLimit-Policy",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    REQUEST_ID_HEADER,
]


def create_app(service: UserManagement, settings: Settings) -> Litestar:
    """Build the HTTP application over *service*.

    Args:
        service: the use cases; the application opens it at start-up and
            closes it at shutdown.
        settings: CORS origins, the rate limit, the trusted proxies and whether to
            serve metrics (the service reads the rest).
    """
    store = service.shared_store("usermgmt_http")
    limit = rate_limit(settings)
    gate = InputGate()
    allowed = AllowedMethods()
    handlers: list[ControllerRouterHandler] = [
        index,
        health,
        liveness,
        readiness,
        AuthController,
        UsersController,
        AuditController,
        SessionsController,
        PasskeysController,
        MfaController,
        PAGES,
    ]
    if keys := service.jwks():
        handlers.append(jwks_route(keys))
    lifespans = [_lifespan(service, store)]
    metrics = None
    if settings.metrics:  # off: not even imported, and nothing on the request path
        from usermgmt.entrypoints.http.metrics import Metrics  # noqa: PLC0415

        metrics = Metrics(service)
        handlers.append(metrics.route())
        lifespans.append(metrics.lifespan())
    # No schema of ours is a pydantic model: Litestar goes without its plugins (see footprint).
    with left_unloaded("pydantic"):
        app = Litestar(
            route_handlers=handlers,
            dependencies={
                "service": Provide(lambda: service, use_cache=True, sync_to_thread=False)
            },
            lifespan=lifespans,
            middleware=[
                gate.middleware,
                allowed.middleware,
                *([limit.middleware] if limit else []),
            ],
            opt=EXEMPT_BY_DEFAULT,
            stores={STORE: store},
            plugins=[problem_details_plugin()],
            request_class=StrictRequest,
            exception_handlers={RecursionError: too_deep, Exception: unexpected},
            cors_config=_cors(settings),
            request_max_body_size=MAX_BODY_BYTES,
            openapi_config=openapi_config(),
            logging_config=None,
            debug=False,
        )
        gate.learn(app)
        allowed.learn(app)
        finish_openapi(app.openapi_schema, settings)
    app.asgi_handler = AccessLog(
        app.asgi_handler, proxies=TrustedProxies(settings.trusted_proxies), observer=metrics
    )
    return app


def create_app_from_env() -> Litestar:
    """Build the application from the ``USERMGMT_*`` environment (uvicorn's ``--factory``).

    Raises:
        ConfigurationError: the environment holds an unusable configuration.
    """
    settings = Settings.from_env()
    load_token_library(settings)  # this process serves these settings alone
    return create_app(UserManagement.from_settings(settings), settings)


def _cors(settings: Settings) -> CORSConfig | None:
    """CORS stays closed (no headers at all) unless origins are configured."""
    if not settings.cors_origins:
        return None
    return CORSConfig(
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type"],
        expose_headers=_EXPOSED_HEADERS,
        allow_credentials=False,  # bearer tokens, not cookies
        max_age=600,
    )


def _lifespan(
    service: UserManagement, store: Store
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        async with service, store, service.dispatching(), anyio.create_task_group() as tasks:
            tasks.start_soon(_sweep_forever, service.purge_expired)
            sweep = getattr(store, "delete_expired", None)
            if sweep is not None:
                tasks.start_soon(_sweep_forever, sweep)
            try:
                yield
            finally:
                tasks.cancel_scope.cancel()

    return lifespan


async def _sweep_forever(sweep: Callable[[], object]) -> None:
    """Drop expired state now and then; a failure waits for the next round."""
    while True:
        await anyio.sleep(SWEEP_INTERVAL)
        try:
            result = sweep()
            if hasattr(result, "__await__"):
                await result
        except UserMgmtError as exc:
            log.warning("could not sweep expired state: %s", exc)
