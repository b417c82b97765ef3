"""The audit log over HTTP on real PostgreSQL: each action's row, the admin route, own events."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.integration.http.helpers import OTHER_PASSWORD, PASSWORD, Account, Api, bearer

AGENT = {"User-Agent": "audit-test/2.0"}


def _rows(api: Api, admin: Account, **query: Any) -> list[dict[str, Any]]:
    """Every row the admin route shows for *query*, walking every page."""
    rows: list[dict[str, Any]] = []
    cursor = ""
    while cursor is not None:
        response = api.client.get(
            "/api/audit", params={**query, "cursor": cursor, "per_page": 100}, headers=admin.headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        rows.extend(body["items"])
        cursor = body["next_cursor"]
    return rows


def _scene(api: Api) -> tuple[Account, Account, list[str]]:
    """Take an account through every action the log records; return the secrets used."""
    admin = api.admin()
    client = api.client
    ann = api.account("ann@example.org")
    secrets = [PASSWORD, OTHER_PASSWORD, admin.access_token, admin.refresh_token]
    secrets += [ann.access_token, ann.refresh_token]
    assert (
        client.post(
            "/api/auth/login",
            json={"email": "ann@example.org", "password": "not her password"},
            headers=AGENT,
        ).status_code
        == 401
    )
    secrets.append("not her password")
    assert (
        client.post(
            "/api/auth/login", json={"email": "nobody@example.org", "password": PASSWORD}
        ).status_code
        == 401
    )
    refreshed = client.post("/api/auth/refresh", json={"refresh_token": ann.refresh_token})
    assert refreshed.status_code == 200
    secrets += [refreshed.json()["access_token"], refreshed.json()["refresh_token"]]
    reused = client.post("/api/auth/refresh", json={"refresh_token": ann.refresh_token})
    assert reused.status_code == 401  # within the grace window: refused, the session lives
    tokens = api.login("ann@example.org")
    secrets += [tokens["access_token"], tokens["refresh_token"], tokens["device_token"]]
    own = bearer(tokens["access_token"])
    changed = client.patch(
        f"/api/users/{ann.id}",
        json={"password": OTHER_PASSWORD, "current_password": PASSWORD},
        headers={**own, **AGENT},
    )
    assert changed.status_code == 200, changed.text
    assert client.get("/api/users/", headers=own).status_code == 403
    for body in ({"role": "admin"}, {"is_active": False}, {"is_active": True}, {"name": "Ann"}):
        assert (
            client.patch(f"/api/users/{ann.id}", json=body, headers=admin.headers).status_code
            == 200
        )
    assert client.delete(f"/api/users/{ann.id}", headers=admin.headers).status_code == 204
    assert client.post(f"/api/users/{ann.id}/restore", headers=admin.headers).status_code == 200
    assert client.post("/api/auth/logout", headers=admin.headers).status_code == 204
    admin = api_login_again(api, admin)
    secrets += [admin.access_token, admin.refresh_token]
    return admin, ann, secrets


def api_login_again(api: Api, admin: Account) -> Account:
    """Sign the admin in again after a logout."""
    tokens = api.login(admin.email)
    return Account(admin.id, admin.email, tokens["access_token"], tokens["refresh_token"])


def test_every_action_writes_its_row_with_the_requests_context(api: Api) -> None:
    """One row per action, with outcome, actor, account, session, address, agent and request id."""
    admin, ann, _ = _scene(api)

    rows = list(reversed(_rows(api, admin, user_id=ann.id)))
    reused = next(r for r in rows if r["type"] == "refresh_token_reused")
    assert (reused["outcome"], reused["details"]) == ("failure", {"session_revoked": False})
    types = [r["type"] for r in rows]

    assert types == [
        "user_registered",
        "login_succeeded",
        "login_failed",
        "refresh_token_reused",  # the refresh before it is routine: no row
        "login_succeeded",
        "password_changed",
        "role_changed",
        "user_deactivated",
        "user_activated",
        "name_changed",
        "user_deleted",
        "user_restored",
    ]
    failed = next(r for r in rows if r["type"] == "login_failed")
    assert failed["outcome"] == "failure"
    assert failed["details"] == {"reason": "wrong_password"}
    assert failed["user_agent"] == "audit-test/2.0"
    assert failed["actor_id"] is None
    (denied,) = _rows(api, admin, type="access_denied")  # names no account: not in Ann's rows
    assert (denied["outcome"], denied["actor_id"]) == ("denied", ann.id)
    assert denied["details"] == {"action": "list users"}
    role = next(r for r in rows if r["type"] == "role_changed")
    assert (role["actor_id"], role["user_id"], role["details"]) == (
        admin.id,
        ann.id,
        {"role": "admin"},
    )
    for row in rows:
        assert row["ip"], row
        assert row["request_id"], row
        assert row["user_agent"], row


def test_a_failed_login_with_an_unknown_email_is_recorded_without_an_account(api: Api) -> None:
    """The reason is kept, never shown; no account is named."""
    admin, _, _ = _scene(api)

    failed = _rows(api, admin, type="login_failed", since="2000-01-01T00:00:00Z")

    assert sorted(r["details"]["reason"] for r in failed) == ["unknown_email", "wrong_password"]
    unknown = next(r for r in failed if r["details"]["reason"] == "unknown_email")
    assert unknown["user_id"] is None


def test_no_row_holds_a_password_or_a_token(api: Api) -> None:
    """Every row's JSON, read straight from the table, is searched for every secret used."""
    _, _, secrets = _scene(api)

    with psycopg.connect(api.database_url) as conn:
        dumped = [
            json.dumps(row)
            for (row,) in conn.execute("SELECT row_to_json(a) FROM audit_events a").fetchall()
        ]

    assert len(dumped) > 15
    for secret in secrets:
        assert all(secret not in row for row in dumped), secret


def test_a_change_that_is_refused_writes_no_row(api: Api) -> None:
    """Deleting the last admin rolls back: no user_deleted row; the refusal is a 409."""
    admin = api.admin()

    response = api.client.delete(f"/api/users/{admin.id}", headers=admin.headers)

    assert response.status_code == 409
    assert [r["type"] for r in _rows(api, admin)] == [
        "login_succeeded",
        "mail_queued",  # the verification link of the admin's registration
        "user_registered",
    ]


def test_filters_and_keyset_pages(api: Api) -> None:
    """Each page is newest first; a walk sees every row once; filters narrow."""
    admin = api.admin()
    for n in range(5):
        api.account(f"user{n}@example.org")
    everything = _rows(api, admin)

    walked: list[dict[str, Any]] = []
    cursor = ""
    while cursor is not None:
        page = api.client.get(
            "/api/audit", params={"cursor": cursor, "per_page": 3}, headers=admin.headers
        ).json()
        assert len(page["items"]) <= 3
        walked.extend(page["items"])
        cursor = page["next_cursor"]
    registered = _rows(api, admin, type="user_registered")
    latest = everything[0]["at"]
    after_latest = _rows(api, admin, since=latest)
    before_latest = _rows(api, admin, until=latest)

    assert walked == everything
    assert [(r["at"], r["id"]) for r in everything] == sorted(
        ((r["at"], r["id"]) for r in everything), reverse=True
    )
    assert len(registered) == 6
    assert {r["type"] for r in registered} == {"user_registered"}
    assert all(r["at"] >= latest for r in after_latest)
    assert all(r["at"] < latest for r in before_latest)
    assert len(after_latest) + len(before_latest) == len(everything)


@pytest.mark.parametrize(
    "query",
    [
        {"cursor": "a1forged"},
        {"per_page": "0"},
        {"per_page": "101"},
        {"per_page": "1e1"},
        {"user_id": "not-a-uuid"},
        {"since": "yesterday"},
        {"until": "2026-13-01T00:00:00Z"},
        {"type": "x" * 65},
    ],
)
def test_a_bad_query_is_a_422(api: Api, query: dict[str, str]) -> None:
    """Strict input: nothing a client sends is a 500."""
    admin = api.admin()

    response = api.client.get("/api/audit", params=query, headers=admin.headers)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_users_cursor_is_not_an_audit_cursor(api: Api) -> None:
    """Cursors are signed for their walk: one from the users' list is refused here."""
    admin = api.admin()
    api.account("ann@example.org")
    users = api.client.get(
        "/api/users/", params={"cursor": "", "per_page": 1}, headers=admin.headers
    ).json()

    response = api.client.get(
        "/api/audit", params={"cursor": users["next_cursor"]}, headers=admin.headers
    )

    assert response.status_code == 422


def test_only_admins_read_the_log_and_the_refusal_is_recorded(
    api: Api, client: TestClient[Litestar]
) -> None:
    """A plain user gets 403 (and an access_denied row); no token gets 401."""
    admin = api.admin()
    ann = api.account("ann@example.org")

    refused = client.get("/api/audit", headers=ann.headers)
    anonymous = client.get("/api/audit")

    assert refused.status_code == 403
    assert anonymous.status_code == 401
    (row,) = _rows(api, admin, type="access_denied")
    assert (row["actor_id"], row["details"]) == (ann.id, {"action": "read the audit log"})


def test_ones_own_events_leave_out_what_concerns_others(api: Api) -> None:
    """Ann sees her rows only; on the admin's change of her role, the admin is not named."""
    admin = api.admin()
    ann = api.account("ann@example.org")
    api.account("bob@example.org")
    assert (
        api.client.patch(
            f"/api/users/{ann.id}", json={"role": "admin"}, headers=admin.headers
        ).status_code
        == 200
    )

    response = api.client.get("/api/auth/events", headers=ann.headers)
    anonymous = api.client.get("/api/auth/events")

    assert response.status_code == 200
    rows = response.json()["items"]
    assert [r["type"] for r in rows] == ["role_changed", "login_succeeded", "user_registered"]
    assert {r["user_id"] for r in rows} == {ann.id}
    role = rows[0]
    assert (role["actor_id"], role["ip"], role["user_agent"]) == (None, None, None)
    assert rows[1]["actor_id"] == ann.id
    assert rows[1]["ip"]
    assert anonymous.status_code == 401


def test_ones_own_events_come_in_pages(api: Api) -> None:
    """The same keyset walk, and the same refusal of a forged cursor."""
    ann = api.account("ann@example.org")
    for _ in range(3):
        api.login("ann@example.org")

    first = api.client.get("/api/auth/events", params={"per_page": 2}, headers=ann.headers).json()
    second = api.client.get(
        "/api/auth/events",
        params={"per_page": 2, "cursor": first["next_cursor"]},
        headers=ann.headers,
    ).json()
    forged = api.client.get("/api/auth/events", params={"cursor": "a1x"}, headers=ann.headers)

    assert len(first["items"]) == 2
    assert len(second["items"]) == 2
    assert second["next_cursor"] is not None
    assert {r["id"] for r in first["items"]}.isdisjoint({r["id"] for r in second["items"]})
    assert forged.status_code == 422
