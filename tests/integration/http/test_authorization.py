"""The authorization matrix: self, another user and an admin, on every user route."""

from __future__ import annotations

import pytest

from tests.integration.http.helpers import Account, Api

# (caller, whose account, method) -> status. "other" is a plain user acting on someone else.
MATRIX = {
    ("self", "GET"): 200,
    ("self", "PUT"): 200,
    ("self", "PATCH"): 200,
    ("self", "DELETE"): 204,
    ("self", "LIST"): 403,
    ("other", "GET"): 403,
    ("other", "PUT"): 403,
    ("other", "PATCH"): 403,
    ("other", "DELETE"): 403,
    ("other", "LIST"): 403,
    ("admin", "GET"): 200,
    ("admin", "PUT"): 200,
    ("admin", "PATCH"): 200,
    ("admin", "DELETE"): 204,
    ("admin", "LIST"): 200,
}


def _call(api: Api, caller: Account, method: str, target: Account) -> int:
    if method == "LIST":
        return api.client.get("/api/users/", headers=caller.headers).status_code
    url = f"/api/users/{target.id}"
    body = {"name": "Renamed"} if method in {"PUT", "PATCH"} else None
    return api.client.request(method, url, json=body, headers=caller.headers).status_code


@pytest.mark.parametrize(("who", "method"), list(MATRIX), ids=[f"{w}-{m}" for w, m in MATRIX])
def test_who_may_do_what_to_an_account(api: Api, who: str, method: str) -> None:
    """Users manage their own account, admins every account, nobody else anything."""
    admin = api.admin()
    target = api.account("target@example.org")
    callers = {"self": target, "other": api.account("other@example.org"), "admin": admin}

    status = _call(api, callers[who], method, target)

    assert status == MATRIX[who, method]


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_a_refused_change_leaves_the_account_untouched(api: Api, method: str) -> None:
    """After a 403 the target is exactly as it was, and still signed in."""
    target = api.account("target@example.org")
    other = api.account("other@example.org")
    before = api.me(target).json()

    status = _call(api, other, method, target)

    assert status == 403
    assert api.me(target).json() == before


def test_an_admin_changes_role_and_active_state_of_others(api: Api) -> None:
    """Admins promote and deactivate users; the changes show in the user's record."""
    admin = api.admin()
    target = api.account("target@example.org")

    promoted = api.client.patch(
        f"/api/users/{target.id}", json={"role": "admin"}, headers=admin.headers
    )
    deactivated = api.client.patch(
        f"/api/users/{target.id}", json={"is_active": False}, headers=admin.headers
    )

    assert promoted.json()["role"] == "admin"
    assert deactivated.json()["is_active"] is False


def test_an_admin_sets_another_users_password_without_the_current_one(api: Api) -> None:
    """Only a self-service change must prove the current password."""
    admin = api.admin()
    target = api.account("target@example.org")

    response = api.client.patch(
        f"/api/users/{target.id}",
        json={"password": "an entirely new passphrase"},
        headers=admin.headers,
    )

    assert response.status_code == 200
    assert api.login("target@example.org", "an entirely new passphrase")["token_type"] == "bearer"
