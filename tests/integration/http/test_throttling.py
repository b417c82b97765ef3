"""Abuse resistance: per-account login throttling and the per-client-IP rate limit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import redis
from litestar import Litestar
from litestar.testing import TestClient

from tests.integration.http.conftest import AppFactory
from tests.integration.http.helpers import OTHER_PASSWORD, PASSWORD, Api
from tests.redis_keys import REDIS_URL, confined_keys
from usermgmt import ManualClock, Settings
from usermgmt.domain.rules.throttle import LoginThrottlePolicy
from usermgmt.entrypoints.http import app as app_module


def _login(client: TestClient[Litestar], email: str, password: str) -> tuple[int, str | None]:
    response = client.post("/api/auth/login", json={"email": email, "password": password})
    return response.status_code, response.headers.get("retry-after")


# --- login throttling ------------------------------------------------------------------------


def test_failed_logins_are_throttled_with_a_growing_retry_after(
    start_app: AppFactory, empty_database: str, http_settings: Settings
) -> None:
    """After five failures each further failure doubles the wait: 1, 2, 4 seconds."""
    clock = ManualClock(datetime.now(UTC))
    client = start_app(clock=clock)
    Api(client, empty_database, http_settings).register("ann@example.org")
    waits = []

    for _ in range(5):
        assert _login(client, "ann@example.org", OTHER_PASSWORD)[0] == 401
    for _ in range(3):
        status, retry_after = _login(client, "ann@example.org", OTHER_PASSWORD)
        assert status == 429
        assert retry_after is not None
        waits.append(int(retry_after))
        clock.advance(timedelta(seconds=int(retry_after)))
        assert _login(client, "ann@example.org", OTHER_PASSWORD)[0] == 401

    assert waits == [1, 2, 4]


def test_the_right_password_is_refused_while_throttled_and_accepted_after(
    start_app: AppFactory, empty_database: str, http_settings: Settings
) -> None:
    """Throttling would not slow guessing if the right guess got through."""
    clock = ManualClock(datetime.now(UTC))
    client = start_app(clock=clock)
    Api(client, empty_database, http_settings).register("ann@example.org")
    for _ in range(5):
        _login(client, "ann@example.org", OTHER_PASSWORD)

    during = _login(client, "ann@example.org", PASSWORD)
    clock.advance(timedelta(seconds=1))
    after = _login(client, "ann@example.org", PASSWORD)

    assert during == (429, "1")
    assert after[0] == 200


def test_a_throttled_login_is_a_429_problem(api: Api) -> None:
    """The 429 says when to try again, in the header and in the problem detail."""
    api.register("ann@example.org")
    for _ in range(5):
        _login(api.client, "ann@example.org", OTHER_PASSWORD)

    response = api.client.post(
        "/api/auth/login", json={"email": "ann@example.org", "password": OTHER_PASSWORD}
    )

    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/login-throttled"
    assert 1 <= int(response.headers["retry-after"]) <= 900


def test_unknown_emails_are_throttled_exactly_like_known_ones(api: Api) -> None:
    """A 429 must not reveal whether an account exists."""
    api.register("known@example.org")
    answers = {}

    for email in ("known@example.org", "unknown@example.org"):
        for _ in range(5):
            _login(api.client, email, OTHER_PASSWORD)
        response = api.client.post(
            "/api/auth/login", json={"email": email, "password": OTHER_PASSWORD}
        )
        answers[email] = (response.status_code, response.headers["retry-after"], response.content)

    assert answers["known@example.org"] == answers["unknown@example.org"]
    assert answers["known@example.org"][0] == 429


def test_login_throttling_is_shared_by_instances_on_one_database(
    start_app: AppFactory, api: Api
) -> None:
    """Failures counted by one instance throttle the same pair on another."""
    other_instance = start_app()
    api.register("ann@example.org")

    for client in (api.client, other_instance) * 2 + (api.client,):
        assert _login(client, "ann@example.org", OTHER_PASSWORD)[0] == 401

    assert _login(other_instance, "ann@example.org", PASSWORD)[0] == 429


# --- the per-client rate limit ---------------------------------------------------------------


def test_the_rate_limit_answers_429_with_retry_after_once_the_budget_is_spent(
    start_app: AppFactory,
) -> None:
    """Login, refresh, logout and register share one budget per client and minute."""
    client = start_app(rate_limit_per_minute=4)
    calls = [
        ("/api/users/register", {"email": "ann@example.org", "password": PASSWORD}),
        ("/api/auth/login", {"email": "ann@example.org", "password": PASSWORD}),
        ("/api/auth/refresh", {"refresh_token": "unknown"}),
        ("/api/auth/logout", None),
    ]
    statuses = [client.post(path, json=body).status_code for path, body in calls]

    refused = client.post("/api/auth/login", json={"email": "x@example.org", "password": "x"})

    assert statuses == [201, 200, 401, 401]
    assert refused.status_code == 429
    assert refused.json()["type"] == "/problems/rate-limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-limit"] == "4"


def test_authenticated_reads_and_health_are_not_rate_limited(
    start_app: AppFactory, empty_database: str, http_settings: Settings
) -> None:
    """``/api/auth/me`` costs one query and no rate-limit bookkeeping, so it is never refused."""
    client = start_app(rate_limit_per_minute=2)
    ann = Api(client, empty_database, http_settings).account("ann@example.org")
    assert client.post("/api/auth/refresh", json={"refresh_token": "x"}).status_code == 429

    statuses = {client.get("/api/auth/me", headers=ann.headers).status_code for _ in range(10)}
    health = client.get("/health")

    assert statuses == {200}
    assert health.status_code == 200
    assert "ratelimit-limit" not in health.headers


def test_the_rate_limit_budget_is_shared_by_instances_on_one_database(
    start_app: AppFactory,
) -> None:
    """A second instance (or worker) does not give a client a second budget."""
    first = start_app(rate_limit_per_minute=3)
    second = start_app(rate_limit_per_minute=3)
    body = {"refresh_token": "unknown"}

    statuses = [c.post("/api/auth/refresh", json=body).status_code for c in (first, second, first)]

    assert statuses == [401, 401, 401]
    assert second.post("/api/auth/refresh", json=body).status_code == 429


def test_a_rate_limit_of_zero_turns_the_limit_off(start_app: AppFactory) -> None:
    """``USERMGMT_RATE_LIMIT_PER_MINUTE=0`` disables the limit entirely."""
    client = start_app(rate_limit_per_minute=0)

    statuses = {
        client.post("/api/auth/refresh", json={"refresh_token": "x"}).status_code for _ in range(80)
    }

    assert statuses == {401}


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """Yield a Redis key prefix of this test's own (its keys are removed at the end)."""
    with confined_keys() as prefix:
        yield prefix


def test_with_redis_the_budget_is_shared_through_redis(
    start_app: AppFactory, redis_prefix: str
) -> None:
    """``USERMGMT_REDIS_URL`` moves the rate-limit windows to Redis, still shared."""
    confined = {"redis_url": REDIS_URL, "redis_key_prefix": redis_prefix}
    first = start_app(rate_limit_per_minute=2, **confined)
    second = start_app(rate_limit_per_minute=2, **confined)
    body = {"refresh_token": "unknown"}

    statuses = [c.post("/api/auth/refresh", json=body).status_code for c in (first, second)]

    assert statuses == [401, 401]
    assert first.post("/api/auth/refresh", json=body).status_code == 429
    with redis.Redis.from_url(REDIS_URL) as client:
        assert client.keys(f"{redis_prefix}usermgmt_http:*")


def test_a_redis_test_leaves_the_keys_outside_its_prefix_untouched(
    start_app: AppFactory, empty_database: str, http_settings: Settings
) -> None:
    """Keys at usermgmt's own prefixes survive a confined test's logins and its cleanup."""
    account = LoginThrottlePolicy.account_key("ann@example.org")
    look_alikes = (f"usermgmt:login-throttle:{account}", "usermgmt_http:look-alike")
    with redis.Redis.from_url(REDIS_URL) as outside:
        try:
            outside.ping()
        except redis.RedisError:
            pytest.skip(f"no Redis at {REDIS_URL}")
        outside.hset(look_alikes[0], mapping={"look-alike:f": "7"})
        outside.set(look_alikes[1], "untouched")
        try:
            with confined_keys() as prefix:
                client = start_app(redis_url=REDIS_URL, redis_key_prefix=prefix)
                Api(client, empty_database, http_settings).register("ann@example.org")
                statuses = [_login(client, "ann@example.org", OTHER_PASSWORD)[0] for _ in range(6)]
                written = sorted(k.decode() for k in outside.scan_iter(match=f"{prefix}*"))

            assert statuses == [401] * 5 + [429]
            assert f"{prefix}usermgmt:login-throttle:{account}" in written
            assert any(k.startswith(f"{prefix}usermgmt_http:") for k in written)
            assert list(outside.scan_iter(match=f"{prefix}*")) == []
            assert outside.hgetall(look_alikes[0]) == {b"look-alike:f": b"7"}
            assert outside.ttl(look_alikes[0]) == -1  # never given an expiry by the store
            assert outside.get(look_alikes[1]) == b"untouched"
        finally:
            outside.delete(*look_alikes)


def test_expired_rate_limit_windows_are_swept_from_postgresql(
    start_app: AppFactory, empty_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The running application deletes expired windows now and then, so the table stays small."""
    monkeypatch.setattr(app_module, "SWEEP_INTERVAL", 0.05)
    with psycopg.connect(empty_database, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO key_value_store (namespace, key, value, expires_at) VALUES "
            "('usermgmt_http', 'expired', '', now() - interval '1 second'), "
            "('usermgmt_http', 'live', '', now() + interval '1 hour')"
        )
        start_app()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            left = conn.execute("SELECT key FROM key_value_store ORDER BY key").fetchall()
            if left == [("live",)]:
                break
            time.sleep(0.05)

    assert left == [("live",)]


def test_ended_sessions_are_purged_by_the_running_application(
    start_app: AppFactory, empty_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sessions that ended more than a day ago disappear with their refresh tokens."""
    monkeypatch.setattr(app_module, "SWEEP_INTERVAL", 0.05)
    with psycopg.connect(empty_database, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO users (id, email, email_key, created_at, updated_at) "
            "VALUES (gen_random_uuid(), 'ann@example.org', 'ann@example.org', now(), now())"
        )
        conn.execute(
            "INSERT INTO sessions"
            " (id, user_id, created_at, last_used_at, amr, expires_at, revoked_at) "
            "SELECT gen_random_uuid(), id, now() - interval '3 days', now() - interval '3 days', "
            "'{pwd}', now() + interval '1 day', CASE WHEN n = 1 THEN now() - interval '2 days' END "
            "FROM users, generate_series(1, 2) AS n"
        )
        start_app()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            (left,) = conn.execute("SELECT count(*) FROM sessions").fetchone() or (0,)
            if left == 1:
                break
            time.sleep(0.05)

    assert left == 1
