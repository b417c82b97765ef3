"""What the service says about itself: name and version, health, public keys."""

from __future__ import annotations

from typing import Final

import anyio
import msgspec
from litestar import Response, get
from litestar.datastructures import CacheControlHeader, ResponseHeader
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec

from usermgmt import UserManagement, __version__
from usermgmt.entrypoints.http.schemas import (
    Health,
    KeySet,
    Liveness,
    ReadinessResponse,
    ServiceInfo,
)

HEALTH_TIMEOUT: Final = 3.0
"""Seconds ``/health`` waits for the database before it answers 503."""

_OK: Final = Health(status="ok", database="ok")
_DOWN: Final = Health(status="unavailable", database="unavailable")
_LIVE: Final = Liveness(status="ok")


@get(
    "/",
    operation_id="getServiceInfo",
    summary="Service information",
    tags=["service"],
)
async def index() -> ServiceInfo:
    """Name the service and its version, and say where the API documentation is."""
    return ServiceInfo(name="usermgmt", version=__version__, docs="/schema")


@get(
    "/health",
    operation_id="getHealth",
    summary="Health",
    tags=["service"],
    cache_control=CacheControlHeader(no_store=True),
    responses={
        503: ResponseSpec(
            data_container=Health,
            description="The database did not answer within 3 seconds.",
            generate_examples=False,
        )
    },
)
async def health(service: NamedDependency[UserManagement]) -> Response[Health]:
    """Say whether the database answers, within three seconds.

    Answers 200 again by itself as soon as the database is back.
    """
    up = False
    with anyio.move_on_after(HEALTH_TIMEOUT):
        up = await service.check_health()
    return Response(_OK if up else _DOWN, status_code=200 if up else 503)


@get(
    "/health/live",
    operation_id="getLiveness",
    summary="Liveness",
    tags=["service"],
    cache_control=CacheControlHeader(no_store=True),
)
async def liveness() -> Liveness:
    """Say that the process serves requests; the database is not asked.

    An orchestrator restarts an instance that stops answering here. A database
    outage does not make an instance dead: it makes it not ready.
    """
    return _LIVE


@get(
    "/health/ready",
    operation_id="getReadiness",
    summary="Readiness",
    tags=["service"],
    cache_control=CacheControlHeader(no_store=True),
    responses={
        503: ResponseSpec(
            data_container=ReadinessResponse,
            description="The database did not answer within a second, or its schema is not "
            "the one this version migrates to: `checks` says which.",
            generate_examples=False,
        )
    },
)
async def readiness(service: NamedDependency[UserManagement]) -> Response[ReadinessResponse]:
    """Say whether this instance may be sent traffic.

    Ready when the database answers within a second and its schema is at this
    version's newest migration; `checks` names the result of each.
    """
    found = await service.check_readiness()
    return Response(ReadinessResponse.from_domain(found), status_code=200 if found.ready else 503)


JWKS_CACHE_CONTROL: Final = "public, max-age=300"
"""How long caches may keep the key set: the wait between publishing a key and signing with it."""


def jwks_route(keys: dict[str, list[dict[str, str]]]) -> HTTPRouteHandler:
    """Return the route that publishes *keys* at ``/.well-known/jwks.json``."""
    key_set = msgspec.convert(keys, KeySet)

    @get(
        "/.well-known/jwks.json",
        operation_id="getJwks",
        summary="Public signing keys",
        tags=["service"],
        # Written out rather than built by CacheControlHeader, which orders it "max-age=300,
        # public": the same directives, but not the header the contract spells.
        response_headers=[ResponseHeader(name="Cache-Control", value=JWKS_CACHE_CONTROL)],
    )
    async def jwks() -> KeySet:
        """Return the Ed25519 public keys (a JSON Web Key Set) that verify access tokens.

        Every configured key is listed with its ``kid``, the signing key first.
        Caches may keep the set for five minutes: a new key is published as a
        verifier at least that long before it signs.
        """
        return key_set

    return jwks
