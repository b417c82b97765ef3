"""The sessions routes: one's own devices, and an admin's view of a user's, on real PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from tests.integration.http.helpers import PASSWORD, Account, Api, bearer

_FIELDS = {"id", "created_at", "last_used_at", "expires_at", "ip", "user_agent", "amr", "current"}


def _login(api: Api, email: str, user_agent: str) -> Account:
    response = api.client.post(
        "/api/auth/login",
        json={"email": email, "password": PASSWORD},
        headers={"User-Agent": user_agent},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return Account("", email, body["access_token"], body["refresh_token"])


def _sessions(api: Api, account: Account) -> list[dict[str, Any]]:
    response = api.client.get("/api/auth/sessions", headers=account.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _current_id(api: Api, account: Account) -> str:
    return next(s["id"] for s in _sessions(api, account) if s["current"])


def test_own_sessions_are_listed_newest_first_with_where_and_how(api: Api) -> None:
    """Each login is one item: its user agent, address and ``pwd``; the caller's is current."""
    api.register("ann@example.org")
    phone = _login(api, "ann@example.org", "Phone/1.0")
    laptop = _login(api, "ann@example.org", "Laptop/2.0 " + "x" * 600)

    items = _sessions(api, laptop)

    assert [set(item) for item in items] == [_FIELDS, _FIELDS]
    assert [item["user_agent"][:10] for item in items] == ["Laptop/2.0", "Phone/1.0"]
    assert len(items[0]["user_agent"]) == 512
    assert [item["current"] for item in items] == [True, False]
    assert all(item["ip"] == "testclient" and item["amr"] == ["pwd"] for item in items)
    assert items[0]["created_at"] == items[0]["last_used_at"]
    assert [i["current"] for i in _sessions(api, phone)] == [False, True]
    text = api.client.get("/api/auth/sessions", headers=phone.headers).text
    assert phone.refresh_token not in text
    assert phone.access_token not in text


def test_a_read_writes_nothing_and_a_refresh_marks_the_session_used(api: Api) -> None:
    """GET /api/auth/me leaves last_used_at as it was; a refresh moves it."""
    api.register("ann@example.org")
    ann = _login(api, "ann@example.org", "Phone/1.0")
    with psycopg.connect(api.database_url, autocommit=True) as conn:
        (before,) = conn.execute("SELECT last_used_at FROM sessions").fetchall()

        for _ in range(3):
            assert api.me(ann).status_code == 200
        (after_reads,) = conn.execute("SELECT last_used_at FROM sessions").fetchall()
        refreshed = api.client.post("/api/auth/refresh", json={"refresh_token": ann.refresh_token})
        (after_refresh,) = conn.execute("SELECT last_used_at FROM sessions").fetchall()

    assert refreshed.status_code == 200
    assert after_reads == before
    assert after_refresh[0] > before[0]


def test_ending_one_session_refuses_its_tokens_from_the_next_request(api: Api) -> None:
    """DELETE /api/auth/sessions/{id}: 204, then that device's access and refresh tokens are 401."""
    api.register("ann@example.org")
    phone = _login(api, "ann@example.org", "Phone/1.0")
    laptop = _login(api, "ann@example.org", "Laptop/2.0")

    ended = api.client.delete(
        f"/api/auth/sessions/{_current_id(api, phone)}", headers=laptop.headers
    )

    assert ended.status_code == 204
    assert api.me(phone).status_code == 401
    refresh = api.client.post("/api/auth/refresh", json={"refresh_token": phone.refresh_token})
    assert refresh.status_code == 401
    assert api.me(laptop).status_code == 200
    assert [s["user_agent"] for s in _sessions(api, laptop)] == ["Laptop/2.0"]


def test_another_users_ended_or_unknown_session_is_not_found(api: Api) -> None:
    """No probing: another user's live session answers 404 like an unknown id, and lives on."""
    ann = api.account("ann@example.org")
    bob = api.account("bob@example.org")
    bobs = _current_id(api, bob)
    anns = _current_id(api, ann)
    other = _login(api, "ann@example.org", "Other/1.0")
    assert api.client.delete(f"/api/auth/sessions/{anns}", headers=other.headers).status_code == 204

    for target in (bobs, anns, str(uuid.uuid4()), "not-a-uuid"):
        response = api.client.delete(f"/api/auth/sessions/{target}", headers=other.headers)
        assert response.status_code == 404, target
        assert response.headers["content-type"].startswith("application/problem+json")
    assert api.me(bob).status_code == 200


def test_ending_the_other_sessions_keeps_the_current_one(api: Api) -> None:
    """DELETE /api/auth/sessions: every other device is signed out; the caller stays in."""
    api.register("ann@example.org")
    others = [_login(api, "ann@example.org", f"Device/{n}") for n in range(3)]
    current = _login(api, "ann@example.org", "Current/1.0")

    ended = api.client.delete("/api/auth/sessions", headers=current.headers)

    assert ended.status_code == 204
    assert [api.me(o).status_code for o in others] == [401, 401, 401]
    assert api.me(current).status_code == 200
    assert [s["user_agent"] for s in _sessions(api, current)] == ["Current/1.0"]


def test_an_admin_lists_and_ends_a_users_sessions(api: Api) -> None:
    """GET and DELETE /api/users/{id}/sessions: the same items with current false; then all end."""
    admin = api.admin()
    ann = api.account("ann@example.org")
    phone = _login(api, "ann@example.org", "Phone/1.0")

    listed = api.client.get(f"/api/users/{ann.id}/sessions", headers=admin.headers)
    own_view = _sessions(api, phone)
    ended = api.client.delete(f"/api/users/{ann.id}/sessions", headers=admin.headers)

    assert listed.status_code == 200
    assert listed.json()["items"] == [{**item, "current": False} for item in own_view]
    assert ended.status_code == 204
    assert (api.me(ann).status_code, api.me(phone).status_code) == (401, 401)
    assert api.me(admin).status_code == 200
    after = api.client.get(f"/api/users/{ann.id}/sessions", headers=admin.headers)
    assert after.json() == {"items": []}


def test_only_admins_reach_a_users_sessions_and_unknown_ids_are_not_found(api: Api) -> None:
    """A plain user gets 403 for any id, their own too; an admin gets 404 for an unknown id."""
    admin = api.admin()
    ann = api.account("ann@example.org")
    bob = api.account("bob@example.org")

    for method in ("GET", "DELETE"):
        for target in (bob.id, ann.id, str(uuid.uuid4())):
            url = f"/api/users/{target}/sessions"
            assert api.client.request(method, url, headers=ann.headers).status_code == 403
        unknown = f"/api/users/{uuid.uuid4()}/sessions"
        assert api.client.request(method, unknown, headers=admin.headers).status_code == 404
        assert api.client.request(method, "/api/users/x/sessions").status_code in {401, 404}
        assert api.client.request(method, f"/api/users/{ann.id}/sessions").status_code == 401
    assert api.me(bob).status_code == 200


def test_the_own_routes_need_a_live_token(api: Api) -> None:
    """Without a token, or with an ended session's token, every own route answers 401."""
    ann = api.account("ann@example.org")
    api.client.post("/api/auth/logout", headers=ann.headers)

    for method, url in (
        ("GET", "/api/auth/sessions"),
        ("DELETE", "/api/auth/sessions"),
        ("DELETE", f"/api/auth/sessions/{uuid.uuid4()}"),
    ):
        assert api.client.request(method, url).status_code == 401
        assert api.client.request(method, url, headers=bearer(ann.access_token)).status_code == 401
