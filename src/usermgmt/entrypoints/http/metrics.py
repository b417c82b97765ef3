"""Prometheus metrics at ``GET /metrics``, built only when ``USERMGMT_METRICS=true``.

Nothing here is imported, and no wrapper or hook is installed, while the
metrics are off: the request path then pays nothing for them.

Requests are counted by the access log's wrapper, which already knows each
request's route template, status and duration (see :class:`RequestObserver`);
Litestar's Prometheus middleware was not used because it sees only requests
that matched a route (a 404 or 405 never reaches a middleware) and its label
names and label sets are not the contract's. The sign-in events are derived
from the same four routes' answers, the hashing time from a hook in the
argon2 hasher; the pool's connections and the mail outbox are read at each
scrape.

No label carries anything a client chose beyond a bounded set: the route is
a template (``unmatched`` for a path no route serves), the method one of the
HTTP methods the API knows (``other`` for anything else), the status a
number the service itself sent.

With several uvicorn workers, ``usermgmt serve`` points
``PROMETHEUS_MULTIPROC_DIR`` at a private directory before the workers
start; prometheus-client then keeps each worker's values in files there, and
a scrape, whichever worker answers it, adds up every worker's.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Final

import anyio
from litestar import Litestar, Response, get
from litestar.handlers import HTTPRouteHandler
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

from usermgmt import UserManagement, UserMgmtError

log = logging.getLogger("usermgmt.metrics")

PATH: Final = "/metrics"
MEDIA_TYPE: Final = "text/plain; version=0.0.4"
"""The Prometheus text format every Prometheus reads (Litestar adds ``charset=utf-8``)."""
OUTBOX_TIMEOUT: Final = 1.0
"""Seconds a scrape waits for the count of the mail outbox."""
POOL_INTERVAL: Final = 5.0
"""Seconds between two readings of a worker's pool, with several workers."""

_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_OTHER_METHOD: Final = "other"
# (method, route template) -> (event, the status of its success)
_AUTH_ROUTES: Final = {
    ("POST", "/api/users/register"): ("register", 201),
    ("POST", "/api/auth/login"): ("login", 200),
    ("POST", "/api/auth/refresh"): ("refresh", 200),
    ("POST", "/api/auth/logout"): ("logout", 204),
    ("POST", "/api/auth/passkeys/login"): ("passkey_login", 200),
}
_OUTCOMES: Final = ("success", "failure")
_MAIL_OUTCOMES: Final = ("sent", "failed")
_POOL_STATES: Final = ("idle", "in_use", "waiting")
# argon2id takes tens to hundreds of milliseconds at sensible parameters.
_HASH_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


_Series = tuple[Counter, Histogram, Counter | None]
"""What one kind of request updates: its count, its duration, and its sign-in event if any."""


def multiprocess_mode() -> bool:
    """Whether prometheus-client keeps its values in files shared by several processes."""
    return values.ValueClass is not values.MutexValue


class Metrics:
    """The service's metrics: told about each request, hashing and the pool, rendered on scrape."""

    def __init__(self, service: UserManagement) -> None:
        """Declare every metric and hook the service's hasher."""
        self._service = service
        self._series: dict[tuple[str, str, int], _Series] = {}
        self._registry = CollectorRegistry(auto_describe=True)
        registry = self._registry
        self.requests = Counter(
            "usermgmt_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ("method", "route", "status"),
            registry=registry,
        )
        self.durations = Histogram(
            "usermgmt_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by method and route.",
            ("method", "route"),
            registry=registry,
        )
        self.auth_events = Counter(
            "usermgmt_auth_events",
            "Registrations, logins (password or passkey), refreshes and logouts, by outcome: "
            "success is the "
            "route's success status, failure any other answer.",
            ("event", "outcome"),
            registry=registry,
        )
        self.password_hash = Histogram(
            "usermgmt_password_hash_seconds",
            "Time of one argon2id hash or verification, on a hashing thread (queueing excluded).",
            buckets=_HASH_BUCKETS,
            registry=registry,
        )
        self.mail_sent = Counter(
            "usermgmt_mail_sent",
            "Queued mail messages settled, by outcome: sent, or failed for good.",
            ("outcome",),
            registry=registry,
        )
        self.mail_pending = Gauge(
            "usermgmt_mail_outbox_pending",
            "Queued mail messages neither sent nor given up, counted at the scrape.",
            registry=registry,
            # Every worker counts the same table: the freshest count is the one to show.
            multiprocess_mode="livemostrecent",
        )
        self.pool = Gauge(
            "usermgmt_db_pool_connections",
            "Database connections of the pool by state (idle, in_use), and requests waiting "
            "for one (waiting); summed over the live workers.",
            ("state",),
            registry=registry,
            multiprocess_mode="livesum",
        )
        for event, _ in _AUTH_ROUTES.values():
            for outcome in _OUTCOMES:
                self.auth_events.labels(event, outcome)
        for outcome in _MAIL_OUTCOMES:
            self.mail_sent.labels(outcome)
        service.observe_password_hashing(self.password_hash.observe)
        service.observe_mail(lambda outcome: self.mail_sent.labels(outcome).inc())

    def request_done(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count a request to *route* (a template) answered with *status* after *seconds*."""
        if method not in _METHODS:  # before the cache: a client may send any method name
            method = _OTHER_METHOD
        series = self._series.get((method, route, status))
        if series is None:
            series = self._series[method, route, status] = self._new_series(method, route, status)
        count, duration, auth = series
        count.inc()
        duration.observe(seconds)
        if auth is not None:
            auth.inc()

    def _new_series(self, method: str, route: str, status: int) -> _Series:
        """Return the children a request of this kind updates (the label look-ups, done once).

        The key's values are all bounded (see the module's docstring), so the cache is too.
        """
        auth = _AUTH_ROUTES.get((method, route))
        event = None
        if auth is not None:
            name, success = auth
            event = self.auth_events.labels(name, "success" if status == success else "failure")
        return (
            self.requests.labels(method, route, str(status)),
            self.durations.labels(method, route),
            event,
        )

    def read_pool(self) -> None:
        """Set the pool gauge from the pool's counters (nothing in memory)."""
        connections = self._service.database_connections()
        if connections is None:
            return
        for state in _POOL_STATES:
            self.pool.labels(state).set(connections.get(state, 0))

    async def read_outbox(self) -> None:
        """Count the mail still to send, within :data:`OUTBOX_TIMEOUT` seconds.

        When the database does not answer in time the gauge keeps its last
        count: a scrape is never held up, nor failed, by the outbox.
        """
        with anyio.move_on_after(OUTBOX_TIMEOUT):
            try:
                self.mail_pending.set(await self._service.pending_mail())
            except UserMgmtError as exc:
                log.warning("could not count the mail outbox: %s", exc)

    async def render(self) -> bytes:
        """Return every metric in the Prometheus text format (every worker's, in multiprocess)."""
        self.read_pool()
        await self.read_outbox()
        if not multiprocess_mode():
            return generate_latest(self._registry)
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call] # untyped upstream
        return generate_latest(merged)

    def route(self) -> HTTPRouteHandler:
        """Return the ``GET /metrics`` route."""

        @get(PATH, include_in_schema=False)
        async def metrics() -> Response[bytes]:
            """Return the metrics in the Prometheus text format."""
            return Response(await self.render(), media_type=MEDIA_TYPE)

        return metrics

    def lifespan(self) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
        """Return the lifespan that keeps this worker's pool reading fresh and cleans up at exit.

        With several workers, whichever worker answers a scrape cannot read the
        others' pools, so each worker writes its own every few seconds; at exit
        its live gauges are removed, so that a stopped worker is not counted.
        """

        @asynccontextmanager
        async def lifespan(_: Litestar) -> AsyncIterator[None]:
            if not multiprocess_mode():
                yield
                return
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self._read_pool_forever)
                try:
                    yield
                finally:
                    tasks.cancel_scope.cancel()
                    multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call] # untyped upstream

        return lifespan

    async def _read_pool_forever(self) -> None:
        while True:
            self.read_pool()
            await anyio.sleep(POOL_INTERVAL)
