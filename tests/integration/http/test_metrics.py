"""``GET /metrics``: the contract's names and labels, counted by the real application."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families
from psycopg import conninfo

from tests.authenticator import VirtualAuthenticator
from tests.integration.http.conftest import AppFactory
from tests.integration.http.helpers import PASSWORD, Api
from tests.integration.http.server import free_port
from tests.mail_contract import message
from tests.mail_delivery_contract import queued
from usermgmt import Settings, UserId, UserManagement
from usermgmt.entrypoints.http import create_app
from usermgmt.entrypoints.http.access_log import AccessLog
from usermgmt.events import MailRequested, RequestContext, SessionsRevoked

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: TestClient[Litestar] | httpx.Client) -> tuple[str, Samples]:
    """Return the text of ``/metrics`` and its samples keyed by (name, labels)."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    return response.text, samples


def _user() -> UserId:
    return UserId(uuid.uuid4())


def value(samples: Samples, name: str, **labels: str) -> float:
    """Return the sample *name* with exactly *labels* (0 when it is absent)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def metered(start_app: AppFactory) -> TestClient[Litestar]:
    """The application with ``USERMGMT_METRICS=true``."""
    return start_app(metrics=True)


def test_metrics_are_off_by_default_and_nothing_is_installed(
    client: TestClient[Litestar], http_settings: Settings
) -> None:
    """Without ``USERMGMT_METRICS`` there is no ``/metrics`` and no observer on the request path."""
    response = client.get("/metrics")
    app = create_app(UserManagement.in_memory(http_settings), http_settings)

    assert http_settings.metrics is False
    assert response.status_code == 404
    assert isinstance(app.asgi_handler, AccessLog)
    assert app.asgi_handler._observer is None


def test_requests_are_counted_by_route_template_method_and_status(
    metered: TestClient[Litestar], empty_database: str, http_settings: Settings
) -> None:
    """Two reads of one user are one series under ``/api/users/{user_id}``, never the raw path."""
    api = Api(metered, empty_database, http_settings)
    ann = api.account("ann@example.org")

    for _ in range(2):
        assert metered.get(f"/api/users/{ann.id}", headers=ann.headers).status_code == 200
    metered.get("/no/such/path/ann@example.org")
    for made_up in ("BREW", "PROPFIND", "X-ANN"):
        metered.request(made_up, "/api/auth/me")
    text, samples = scrape(metered)

    requests = "usermgmt_http_requests_total"
    user = {"method": "GET", "route": "/api/users/{user_id}"}
    assert value(samples, requests, **user, status="200") == 2
    assert value(samples, "usermgmt_http_request_duration_seconds_count", **user) == 2
    assert value(samples, requests, method="GET", route="unmatched", status="404") == 1
    assert value(samples, requests, method="other", route="unmatched", status="405") == 3
    assert not any(dict(labels).get("method") in {"BREW", "PROPFIND"} for _, labels in samples)
    assert value(samples, requests, method="POST", route="/api/users/register", status="201") == 1
    for secret in (ann.id, ann.email, "example.org", ann.access_token, ann.refresh_token, "BREW"):
        assert secret not in text
    assert "127.0.0.1" not in text
    assert "testclient" not in text


def test_sign_in_events_are_counted_by_outcome(
    metered: TestClient[Litestar], empty_database: str, http_settings: Settings
) -> None:
    """Register, login (right and wrong), refresh and logout each land under their event."""
    api = Api(metered, empty_database, http_settings)
    _, before = scrape(metered)
    ann = api.account("ann@example.org")

    wrong = metered.post("/api/auth/login", json={"email": ann.email, "password": "not it!!"})
    taken = metered.post("/api/users/register", json={"email": ann.email, "password": PASSWORD})
    refreshed = metered.post("/api/auth/refresh", json={"refresh_token": ann.refresh_token})
    new_access = refreshed.json()["access_token"]
    out = metered.post("/api/auth/logout", headers={"Authorization": f"Bearer {new_access}"})
    _, after = scrape(metered)

    assert (wrong.status_code, taken.status_code, out.status_code) == (401, 409, 204)
    events = "usermgmt_auth_events_total"
    assert value(before, events, event="login", outcome="failure") == 0
    assert (events, frozenset({("event", "login"), ("outcome", "failure")})) in before
    expected = {
        ("register", "success"): 1,
        ("register", "failure"): 1,
        ("login", "success"): 1,
        ("login", "failure"): 1,
        ("refresh", "success"): 1,
        ("refresh", "failure"): 0,
        ("logout", "success"): 1,
        ("logout", "failure"): 0,
    }
    for (event, outcome), count in expected.items():
        assert value(after, events, event=event, outcome=outcome) == count, (event, outcome)


def test_passkey_logins_are_counted_by_outcome(
    metered: TestClient[Litestar], empty_database: str, http_settings: Settings
) -> None:
    """A passkey sign-in lands under ``passkey_login``; a refused one as its failure."""
    ann = Api(metered, empty_database, http_settings).account("ann@example.org")
    passkey = VirtualAuthenticator()
    begun = metered.post(
        "/api/auth/passkeys/register/options",
        json={"current_password": PASSWORD},
        headers={"Authorization": f"Bearer {ann.access_token}"},
    ).json()
    added = metered.post(
        "/api/auth/passkeys/register",
        json={"ceremony_id": begun["ceremony_id"], "credential": passkey.create(begun["options"])},
        headers={"Authorization": f"Bearer {ann.access_token}"},
    )
    assert added.status_code == 201, added.text
    _, before = scrape(metered)

    for knobs in ({}, {"user_verified": False}):
        login = metered.post("/api/auth/passkeys/login/options").json()
        metered.post(
            "/api/auth/passkeys/login",
            json={
                "ceremony_id": login["ceremony_id"],
                "credential": passkey.get(login["options"], **knobs),
            },
        )
    _, after = scrape(metered)

    events = "usermgmt_auth_events_total"
    assert (events, frozenset({("event", "passkey_login"), ("outcome", "success")})) in before
    for outcome in ("success", "failure"):
        counted = value(after, events, event="passkey_login", outcome=outcome)
        assert counted - value(before, events, event="passkey_login", outcome=outcome) == 1


def test_password_hashing_is_timed_in_the_hasher(
    metered: TestClient[Litestar], empty_database: str, http_settings: Settings
) -> None:
    """One registration hashes once; two logins verify twice: three timings, each positive."""
    api = Api(metered, empty_database, http_settings)

    api.account("ann@example.org")
    metered.post("/api/auth/login", json={"email": "ann@example.org", "password": "wrong one"})
    _, samples = scrape(metered)

    assert value(samples, "usermgmt_password_hash_seconds_count") == 3
    assert value(samples, "usermgmt_password_hash_seconds_sum") > 0
    assert value(samples, "usermgmt_password_hash_seconds_bucket", le="+Inf") == 3


def test_pool_and_mail_metrics_are_declared(metered: TestClient[Litestar]) -> None:
    """The pool's connections are read at scrape time; the mail series exist from the start."""
    assert metered.get("/health").status_code == 200

    text, samples = scrape(metered)

    idle = value(samples, "usermgmt_db_pool_connections", state="idle")
    in_use = value(samples, "usermgmt_db_pool_connections", state="in_use")
    assert idle + in_use >= 1
    assert ("usermgmt_db_pool_connections", frozenset({("state", "waiting")})) in samples
    assert value(samples, "usermgmt_mail_sent_total", outcome="sent") == 0
    assert ("usermgmt_mail_sent_total", frozenset({("outcome", "failed")})) in samples
    assert "usermgmt_mail_outbox_pending 0.0" in text


def test_mail_waiting_in_the_outbox_is_counted_at_the_scrape(
    metered: TestClient[Litestar], empty_database: str, http_settings: Settings
) -> None:
    """Two messages queued for later are pending; an event of another type is not mail."""
    later = datetime.now(UTC) + timedelta(hours=1)  # not due: the dispatcher leaves them
    context = RequestContext(ip="192.0.2.1")

    async def queue() -> None:
        service = UserManagement.from_url(empty_database, http_settings)
        async with service, service._parts.uow() as tx:
            for _ in range(2):
                await tx.outbox.add(MailRequested.of(message(), at=later, context=context))
            await tx.outbox.add(SessionsRevoked(at=later, user_id=_user(), actor_id=None, count=1))

    _, before = scrape(metered)
    anyio.run(queue)
    _, after = scrape(metered)

    assert value(before, "usermgmt_mail_outbox_pending") == 0
    assert value(after, "usermgmt_mail_outbox_pending") == 2


def test_a_scrape_answers_in_time_while_the_database_is_away(
    start_app: AppFactory, empty_database: str
) -> None:
    """Pointed at a closed port, the scrape still answers 200 within the outbox's bound."""
    url = conninfo.make_conninfo(empty_database, host="127.0.0.1", port=free_port())
    metered = start_app(url=url, metrics=True)

    start = time.monotonic()
    _, samples = scrape(metered)

    assert time.monotonic() - start < 2
    assert value(samples, "usermgmt_mail_outbox_pending") == 0


def test_settled_mail_is_counted_by_outcome(
    start_app: AppFactory, empty_database: str, http_settings: Settings, tmp_path: Path
) -> None:
    """A message queued in the outbox and sent by the app's dispatcher counts as sent."""
    metered = start_app(metrics=True, mail_url=f"file://{tmp_path}")

    async def queue() -> None:
        service = UserManagement.from_url(empty_database, http_settings)
        async with service, service._parts.uow() as tx:
            await tx.outbox.add(queued())

    anyio.run(queue)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:  # the dispatcher passes once a second
        _, samples = scrape(metered)
        if value(samples, "usermgmt_mail_sent_total", outcome="sent"):
            break
        time.sleep(0.2)

    assert value(samples, "usermgmt_mail_sent_total", outcome="sent") == 1
    assert value(samples, "usermgmt_mail_sent_total", outcome="failed") == 0
    assert len(list(tmp_path.glob("*.eml"))) == 1


def test_metrics_in_memory_have_no_pool(http_settings: Settings) -> None:
    """The in-memory backend serves metrics too, with no pool series."""
    settings = http_settings.evolve(metrics=True)
    with TestClient(create_app(UserManagement.in_memory(settings), settings)) as client:
        client.get("/health/live")
        _, samples = scrape(client)

    live = {"method": "GET", "route": "/health/live", "status": "200"}
    assert value(samples, "usermgmt_http_requests_total", **live) == 1
    assert not any(name == "usermgmt_db_pool_connections" for name, _ in samples)
