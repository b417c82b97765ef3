"""Passkeys over HTTP on PostgreSQL, with the virtual authenticator as the browser.

Registration and sign-in end to end, the list and the removal, and each
refusal the relying party owes: a replayed response, another page's origin,
another RP id, user verification missing, a counter that goes backwards, an
expired or reused ceremony, another user's passkey. The application runs its
dispatcher, so the notice of a new passkey lands in an in-memory mailer, and
on a manual clock, so a ceremony can outlive its five minutes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import attrs
import httpx
import jwt
import psycopg
import pyotp
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.authenticator import VirtualAuthenticator, b64url, b64url_decode
from tests.integration.http.helpers import PASSWORD, Account, Api, bearer
from usermgmt import ManualClock, Settings, UserManagement
from usermgmt.adapters.mail import InMemoryMailer
from usermgmt.domain.mail import MailKind, MailMessage
from usermgmt.entrypoints.http import create_app

BASE = "/api/auth/passkeys"


@attrs.frozen
class Passkeys:
    """The running application, its mail and its clock, and the calls of a passkey's life."""

    client: TestClient[Litestar]
    api: Api
    mailer: InMemoryMailer
    clock: ManualClock

    def begin_registration(
        self, account: Account, password: str | None = PASSWORD
    ) -> httpx.Response:
        body = {} if password is None else {"current_password": password}
        return self.client.post(f"{BASE}/register/options", json=body, headers=account.headers)

    def finish_registration(
        self, account: Account, ceremony_id: str, credential: Any, name: str | None = None
    ) -> httpx.Response:
        body: dict[str, Any] = {"ceremony_id": ceremony_id, "credential": credential}
        if name is not None:
            body["name"] = name
        return self.client.post(f"{BASE}/register", json=body, headers=account.headers)

    def enrol(
        self, account: Account, passkey: VirtualAuthenticator, name: str = "Laptop"
    ) -> dict[str, Any]:
        begun = self.begin_registration(account)
        assert begun.status_code == 200, begun.text
        credential = passkey.create(begun.json()["options"])
        added = self.finish_registration(account, begun.json()["ceremony_id"], credential, name)
        assert added.status_code == 201, added.text
        body: dict[str, Any] = added.json()
        return body

    def begin_login(self) -> dict[str, Any]:
        begun = self.client.post(f"{BASE}/login/options")
        assert begun.status_code == 200, begun.text
        body: dict[str, Any] = begun.json()
        return body

    def finish_login(self, ceremony_id: str, assertion: Any) -> httpx.Response:
        return self.client.post(
            f"{BASE}/login", json={"ceremony_id": ceremony_id, "credential": assertion}
        )

    def login(self, passkey: VirtualAuthenticator, **knobs: Any) -> httpx.Response:
        begun = self.begin_login()
        return self.finish_login(begun["ceremony_id"], passkey.get(begun["options"], **knobs))

    def mail(self, kind: MailKind, *, timeout: float = 15) -> list[MailMessage]:
        """Wait until a message of *kind* was sent; return those sent."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sent = [m for m in self.mailer.sent if m.kind is kind]
            if sent:
                return sent
            time.sleep(0.05)
        return []

    def audit(self, admin: Account, event_type: str) -> list[dict[str, Any]]:
        found = self.client.get(f"/api/audit?type={event_type}", headers=admin.headers)
        assert found.status_code == 200, found.text
        items: list[dict[str, Any]] = found.json()["items"]
        return items


@contextmanager
def _running(database_url: str, settings: Settings) -> Iterator[Passkeys]:
    """Run the application on a manual clock, its dispatcher mailing into memory."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM key_value_store")
    mailer = InMemoryMailer()
    clock = ManualClock()
    service = UserManagement.from_url(database_url, settings, mailer=mailer, clock=clock)
    with TestClient(create_app(service, settings)) as client:
        yield Passkeys(client, Api(client, database_url, settings), mailer, clock)


@pytest.fixture
def passkeys(empty_database: str, http_settings: Settings) -> Iterator[Passkeys]:
    """The application with the test settings."""
    with _running(empty_database, http_settings) as running:
        yield running


@pytest.fixture
def lenient(empty_database: str, http_settings: Settings) -> Iterator[Passkeys]:
    """The application with a login throttle that a dozen failures do not reach."""
    with _running(empty_database, http_settings.evolve(login_max_failures=20)) as running:
        yield running


@pytest.fixture
def ann(passkeys: Passkeys) -> Account:
    """A user signed in with her password."""
    return passkeys.api.account("ann@example.org")


def _refused_alike(responses: list[httpx.Response]) -> None:
    """Every response is the one 401 of a failed sign-in, body and challenge alike."""
    assert {r.status_code for r in responses} == {401}
    assert len({r.text for r in responses}) == 1
    assert responses[0].json()["type"] == "/problems/invalid-credentials"
    assert {r.headers["www-authenticate"] for r in responses} == {"Bearer"}


# Registration and sign-in.


def test_a_passkey_registers_lists_and_signs_in_with_hwk(passkeys: Passkeys, ann: Account) -> None:
    """201 with the passkey; the login's session says ``hwk``; the list shows its last use."""
    passkey = VirtualAuthenticator()

    added = passkeys.enrol(ann, passkey, name="Laptop")
    signed_in = passkeys.login(passkey)

    assert set(added) == {"id", "name", "created_at", "last_used_at", "backed_up"}
    assert (added["name"], added["last_used_at"], added["backed_up"]) == ("Laptop", None, False)
    assert signed_in.status_code == 200, signed_in.text
    tokens = signed_in.json()
    assert {"access_token", "refresh_token", "device_token"} <= set(tokens)
    assert signed_in.headers["cache-control"] == "no-store"
    me = passkeys.client.get("/api/auth/me", headers=bearer(tokens["access_token"]))
    assert me.json()["id"] == ann.id
    sessions = passkeys.client.get("/api/auth/sessions", headers=bearer(tokens["access_token"]))
    (current,) = [s for s in sessions.json()["items"] if s["current"]]
    assert current["amr"] == ["hwk"]
    listed = passkeys.client.get(BASE, headers=ann.headers).json()["items"]
    assert [(p["id"], p["name"]) for p in listed] == [(added["id"], "Laptop")]
    assert listed[0]["last_used_at"] is not None


def test_the_options_ask_for_a_resident_key_with_verification_and_exclude_known_ones(
    passkeys: Passkeys, ann: Account
) -> None:
    """Creation options as the contract says; a sign-in's name no credential."""
    passkey = VirtualAuthenticator()
    first = passkeys.begin_registration(ann).json()
    passkeys.finish_registration(
        ann, first["ceremony_id"], passkey.create(first["options"]), "Laptop"
    )

    again = passkeys.begin_registration(ann).json()
    login = passkeys.begin_login()

    options = again["options"]
    assert options["rp"] == {"id": "localhost", "name": "usermgmt"}
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert [d["id"] for d in options["excludeCredentials"]] == [b64url(passkey.credentials[0].id)]
    assert len(b64url_decode(options["challenge"])) >= 32
    assert b64url_decode(options["user"]["id"]).hex() == ann.id.replace("-", "")
    assert login["options"]["userVerification"] == "required"
    assert login["options"].get("allowCredentials", []) == []
    assert login["options"]["rpId"] == "localhost"
    assert again["ceremony_id"] != first["ceremony_id"] != login["ceremony_id"]


def test_a_new_passkey_is_noticed_by_mail_and_audited(passkeys: Passkeys, ann: Account) -> None:
    """The notice names the passkey; the log has the addition, the login and the removal."""
    admin = passkeys.api.admin()
    passkey = VirtualAuthenticator()
    added = passkeys.enrol(ann, passkey, name="Work laptop")
    assert passkeys.login(passkey).status_code == 200
    removed = passkeys.client.request(
        "DELETE",
        f"{BASE}/{added['id']}",
        json={"current_password": PASSWORD},
        headers=ann.headers,
    )
    assert removed.status_code == 204

    (notice,) = passkeys.mail(MailKind.PASSKEY_ADDED)
    assert notice.to.address == "ann@example.org"
    assert '"Work laptop"' in notice.text
    (row,) = passkeys.audit(admin, "passkey_added")
    assert (row["user_id"], row["details"]) == (
        ann.id,
        {"passkey_id": added["id"], "name": "Work laptop"},
    )
    (gone,) = passkeys.audit(admin, "passkey_removed")
    assert (gone["actor_id"], gone["details"]) == (ann.id, {"passkey_id": added["id"]})
    logins = passkeys.audit(admin, "login_succeeded")
    assert {"amr": ["hwk"]} in [r["details"] for r in logins if r["user_id"] == ann.id]


def test_a_passkey_signs_in_without_a_totp_prompt_and_its_tokens_say_hwk(
    passkeys: Passkeys, ann: Account
) -> None:
    """With TOTP on, the password leads to a second step; the passkey alone to the tokens."""
    passkey = VirtualAuthenticator()
    passkeys.enrol(ann, passkey)
    started = passkeys.client.post(
        "/api/auth/mfa/totp", json={"current_password": PASSWORD}, headers=ann.headers
    )
    code = pyotp.TOTP(started.json()["secret"]).at(passkeys.clock.now())
    confirmed = passkeys.client.post(
        "/api/auth/mfa/totp/confirm", json={"code": code}, headers=ann.headers
    )
    assert confirmed.status_code == 200, confirmed.text

    by_password = passkeys.client.post(
        "/api/auth/login", json={"email": ann.email, "password": PASSWORD}
    )
    by_passkey = passkeys.login(passkey)

    assert by_password.json()["mfa_required"] is True
    assert by_passkey.status_code == 200, by_passkey.text
    tokens = by_passkey.json()
    assert "mfa_required" not in tokens
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["amr"] == ["hwk"]
    me = passkeys.client.get("/api/auth/me", headers=bearer(tokens["access_token"]))
    assert me.json()["mfa_enabled"] is True
    refreshed = passkeys.client.post(
        "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    renewed = jwt.decode(refreshed.json()["access_token"], options={"verify_signature": False})
    assert renewed["amr"] == ["hwk"]


# The current password.


def test_adding_or_removing_a_passkey_needs_the_current_password(
    passkeys: Passkeys, ann: Account
) -> None:
    """422 without it (on ``current_password``), 403 when wrong, for both changes."""
    added = passkeys.enrol(ann, VirtualAuthenticator())
    missing = passkeys.begin_registration(ann, password=None)
    wrong = passkeys.begin_registration(ann, password="not the password")
    remove = f"{BASE}/{added['id']}"
    remove_missing = passkeys.client.request("DELETE", remove, json={}, headers=ann.headers)
    remove_wrong = passkeys.client.request(
        "DELETE", remove, json={"current_password": "nope"}, headers=ann.headers
    )

    for response in (missing, remove_missing):
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "current_password"
    for response in (wrong, remove_wrong):
        assert response.status_code == 403, response.text
        assert response.json()["type"] == "/problems/wrong-password"
    assert len(passkeys.client.get(BASE, headers=ann.headers).json()["items"]) == 1
    no_token = passkeys.client.post(f"{BASE}/register/options", json={"current_password": "x"})
    assert no_token.status_code == 401


# Registration refused.


@pytest.mark.parametrize(
    "knobs",
    [
        {"origin": "https://evil.example.org"},
        {"rp_id": "evil.example.org"},
        {"user_verified": False},
        {"user_present": False},
        {"challenge": b"\x00" * 32},
    ],
    ids=["wrong-origin", "wrong-rp-id", "no-user-verification", "no-user-presence", "challenge"],
)
def test_a_registration_that_does_not_verify_is_a_422_on_credential(
    passkeys: Passkeys, ann: Account, knobs: dict[str, Any]
) -> None:
    """Nothing is stored; the ceremony is spent all the same."""
    begun = passkeys.begin_registration(ann).json()
    credential = VirtualAuthenticator().create(begun["options"], **knobs)

    refused = passkeys.finish_registration(ann, begun["ceremony_id"], credential)
    retried = passkeys.finish_registration(
        ann, begun["ceremony_id"], VirtualAuthenticator().create(begun["options"])
    )

    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "credential"
    assert retried.status_code == 422
    assert retried.json()["errors"][0]["field"] == "ceremony_id"
    assert passkeys.client.get(BASE, headers=ann.headers).json()["items"] == []


def test_a_replayed_registration_is_refused(passkeys: Passkeys, ann: Account) -> None:
    """The same response twice: the second finds its ceremony spent."""
    begun = passkeys.begin_registration(ann).json()
    credential = VirtualAuthenticator().create(begun["options"])

    first = passkeys.finish_registration(ann, begun["ceremony_id"], credential)
    replayed = passkeys.finish_registration(ann, begun["ceremony_id"], credential)

    assert first.status_code == 201
    assert replayed.status_code == 422
    assert replayed.json()["errors"][0]["field"] == "ceremony_id"
    assert len(passkeys.client.get(BASE, headers=ann.headers).json()["items"]) == 1


def test_a_registration_after_five_minutes_is_refused(passkeys: Passkeys, ann: Account) -> None:
    """A ceremony lives 5 minutes: its answer comes too late one second after."""
    begun = passkeys.begin_registration(ann).json()
    credential = VirtualAuthenticator().create(begun["options"])
    passkeys.clock.advance(timedelta(minutes=5, seconds=1))

    late = passkeys.finish_registration(ann, begun["ceremony_id"], credential)

    assert late.status_code == 422
    assert late.json()["errors"][0]["field"] == "ceremony_id"


def test_a_registration_ceremony_is_bound_to_its_user(passkeys: Passkeys, ann: Account) -> None:
    """Bob cannot finish Ann's ceremony (and a sign-in's challenge registers nothing)."""
    bob = passkeys.api.account("bob@example.org")
    begun = passkeys.begin_registration(ann).json()
    credential = VirtualAuthenticator().create(begun["options"])
    login = passkeys.begin_login()

    by_bob = passkeys.finish_registration(bob, begun["ceremony_id"], credential)
    with_login = passkeys.finish_registration(ann, login["ceremony_id"], credential)

    assert (by_bob.status_code, with_login.status_code) == (422, 422)
    assert passkeys.client.get(BASE, headers=bob.headers).json()["items"] == []


def test_the_same_authenticator_credential_registers_once(passkeys: Passkeys, ann: Account) -> None:
    """A credential ID already registered (to anyone) is refused on ``credential``."""
    bob = passkeys.api.account("bob@example.org")
    begun = passkeys.begin_registration(ann).json()
    credential = VirtualAuthenticator().create(begun["options"])
    assert passkeys.finish_registration(ann, begun["ceremony_id"], credential).status_code == 201

    again = passkeys.begin_registration(bob).json()
    twice = passkeys.finish_registration(bob, again["ceremony_id"], credential)

    # The challenge differs, so it fails verification before the duplicate is seen.
    assert twice.status_code == 422
    assert twice.json()["errors"][0]["field"] == "credential"


def test_bad_bodies_are_422_never_500(passkeys: Passkeys, ann: Account) -> None:
    """A credential that is not an object, a name too long, a ceremony id that is no UUID."""
    begun = passkeys.begin_registration(ann).json()
    credential = VirtualAuthenticator().create(begun["options"])
    answers = [
        passkeys.finish_registration(ann, begun["ceremony_id"], [1, 2]),
        passkeys.finish_registration(ann, begun["ceremony_id"], credential, "x" * 65),
        passkeys.finish_registration(ann, "not-a-uuid", credential),
        passkeys.finish_login(passkeys.begin_login()["ceremony_id"], "text"),
    ]
    garbled = passkeys.begin_registration(ann).json()
    broken = passkeys.finish_registration(
        ann, garbled["ceremony_id"], {"id": "x", "rawId": "y", "response": {}, "type": 1}
    )

    assert [a.status_code for a in answers] == [422, 422, 422, 422]
    assert broken.status_code == 422
    assert broken.json()["errors"][0]["field"] == "credential"


# Sign-in refused.


def test_every_failed_passkey_login_is_the_same_401_and_audited_with_its_reason(
    lenient: Passkeys, caplog: pytest.LogCaptureFixture
) -> None:
    """Origin, RP id, UV, counter, replay, reuse, expiry, unknown: one answer, reasons kept."""
    passkeys = lenient
    ann = passkeys.api.account("ann@example.org")
    admin = passkeys.api.admin()
    passkey = VirtualAuthenticator()
    passkeys.enrol(ann, passkey)
    assert passkeys.login(passkey).status_code == 200  # the counter stands at 1

    replay_of = passkeys.begin_login()
    seen = passkey.get(replay_of["options"])
    assert passkeys.finish_login(replay_of["ceremony_id"], seen).status_code == 200
    replayed = passkeys.finish_login(replay_of["ceremony_id"], seen)
    fresh_over_spent = passkeys.finish_login(
        replay_of["ceremony_id"], passkey.get(replay_of["options"])
    )
    late = passkeys.begin_login()
    late_assertion = passkey.get(late["options"])
    passkeys.clock.advance(timedelta(minutes=5, seconds=1))
    expired = passkeys.finish_login(late["ceremony_id"], late_assertion)
    with caplog.at_level(logging.WARNING, logger="usermgmt.passkeys"):
        backwards = passkeys.login(passkey, sign_count=1)
    stranger = VirtualAuthenticator()
    stranger.create(passkeys.begin_registration(ann).json()["options"])  # never sent
    refusals = [
        passkeys.login(passkey, origin="https://evil.example.org"),
        passkeys.login(passkey, rp_id="evil.example.org"),
        passkeys.login(passkey, user_verified=False),
        passkeys.login(passkey, tamper_signature=True),
        backwards,
        replayed,
        fresh_over_spent,
        expired,
        passkeys.login(stranger),
    ]

    _refused_alike(refusals)
    assert passkeys.login(passkey).status_code == 200  # the real one still works
    assert "signature counter went from" in caplog.text
    reasons = [r["details"]["reason"] for r in passkeys.audit(admin, "login_failed")]
    assert sorted(reasons) == sorted(
        ["passkey_invalid"] * 4
        + ["passkey_counter"]
        + ["ceremony_invalid"] * 3
        + ["unknown_passkey"]
    )


def test_a_counter_that_stands_still_is_refused_but_a_synced_passkey_that_never_counts_signs_in(
    passkeys: Passkeys, ann: Account
) -> None:
    """Counting credential: the same counter twice is a clone; 0 after 0 is a synced passkey."""
    counting = VirtualAuthenticator()
    synced = VirtualAuthenticator()
    passkeys.enrol(ann, counting, name="Key")
    passkeys.enrol(ann, synced, name="Phone")
    # The synced one: BE and BS flags, a counter that stays 0.
    assert passkeys.login(counting).status_code == 200

    stood_still = passkeys.login(counting, sign_count=1)

    assert stood_still.status_code == 401
    assert passkeys.login(synced).status_code == 200
    assert passkeys.login(synced).status_code == 200


def test_a_removed_passkey_or_a_deactivated_account_signs_nobody_in(
    passkeys: Passkeys, ann: Account
) -> None:
    """After removal the passkey is unknown; a deactivated user's is refused alike."""
    admin = passkeys.api.admin()
    removed_key = VirtualAuthenticator()
    added = passkeys.enrol(ann, removed_key)
    gone = passkeys.client.request(
        "DELETE", f"{BASE}/{added['id']}", json={"current_password": PASSWORD}, headers=ann.headers
    )
    assert gone.status_code == 204
    bob = passkeys.api.account("bob@example.org")
    bobs_key = VirtualAuthenticator()
    passkeys.enrol(bob, bobs_key)
    deactivated = passkeys.client.patch(
        f"/api/users/{bob.id}", json={"is_active": False}, headers=admin.headers
    )
    assert deactivated.status_code == 200

    _refused_alike([passkeys.login(removed_key), passkeys.login(bobs_key)])


def test_another_users_passkey_id_is_not_found(passkeys: Passkeys, ann: Account) -> None:
    """Bob's passkey, or none at all: 404 for Ann, and Bob's stays."""
    bob = passkeys.api.account("bob@example.org")
    bobs = passkeys.enrol(bob, VirtualAuthenticator())
    body = {"current_password": PASSWORD}

    by_ann = passkeys.client.request(
        "DELETE", f"{BASE}/{bobs['id']}", json=body, headers=ann.headers
    )
    unknown = passkeys.client.request("DELETE", f"{BASE}/{ann.id}", json=body, headers=ann.headers)

    assert (by_ann.status_code, unknown.status_code) == (404, 404)
    assert by_ann.json()["type"] == "/problems/not-found"
    assert len(passkeys.client.get(BASE, headers=bob.headers).json()["items"]) == 1
    assert passkeys.client.get(BASE, headers=ann.headers).json()["items"] == []


def test_failed_passkey_logins_are_throttled_per_client(passkeys: Passkeys, ann: Account) -> None:
    """Past the per-client threshold, even a good passkey waits, with ``Retry-After``."""
    passkey = VirtualAuthenticator()
    passkeys.enrol(ann, passkey)
    stranger = VirtualAuthenticator()
    stranger.create(passkeys.begin_registration(ann).json()["options"])  # never sent
    threshold = passkeys.api.settings.login_max_failures

    failures = [passkeys.login(stranger).status_code for _ in range(threshold)]
    throttled = passkeys.login(passkey)

    assert failures == [401] * threshold
    assert throttled.status_code == 429, throttled.text
    assert int(throttled.headers["retry-after"]) >= 1
    passkeys.clock.advance(timedelta(minutes=16))
    assert passkeys.login(passkey).status_code == 200
