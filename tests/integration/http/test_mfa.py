"""TOTP, recovery codes and two-step login over real HTTP and PostgreSQL.

Codes are computed with pyotp from the secret the API returns, as an
authenticator app would. The service runs on a clock the tests move, so
that a used code's step can be left behind without waiting 30 seconds.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import httpx
import jwt
import pyotp
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.integration.http.helpers import PASSWORD, Account, Api, bearer
from usermgmt import ManualClock, Settings, UserManagement, VerificationMode
from usermgmt.adapters.mail import InMemoryMailer
from usermgmt.domain.mail import MailKind, MailMessage
from usermgmt.entrypoints.http import create_app

PROBLEM = "application/problem+json"
EMAIL = "ann@example.org"
STEP = timedelta(seconds=30)
CODE_SHAPE = re.compile(r"[a-z2-7]{4}(-[a-z2-7]{4}){3}")


@attrs.frozen
class Mfa:
    """The running application, its clock and the mail it sent."""

    client: TestClient[Litestar]
    clock: ManualClock
    mailer: InMemoryMailer
    api: Api

    def post(
        self, path: str, body: dict[str, Any], account: Account | None = None
    ) -> httpx.Response:
        """POST *body* to *path*, as *account* if given."""
        headers = account.headers if account else {}
        return self.client.post(path, json=body, headers=headers)

    def delete(self, path: str, body: dict[str, Any] | None, account: Account) -> httpx.Response:
        """DELETE *path* with *body*, as *account*."""
        return self.client.request("DELETE", path, json=body, headers=account.headers)

    def code(self, secret: str) -> str:
        """The code an authenticator app shows now, for *secret*."""
        return pyotp.TOTP(secret).at(self.clock.now())

    def next_step(self) -> None:
        """Move the service's clock to the next 30-second step."""
        self.clock.advance(STEP)

    def login(self, password: str = PASSWORD) -> httpx.Response:
        """POST the login of Ann with *password*."""
        return self.post("/api/auth/login", {"email": EMAIL, "password": password})

    def enable(self, account: Account) -> tuple[str, list[str]]:
        """Set up and confirm TOTP for *account*; return the secret and the recovery codes."""
        started = self.post("/api/auth/mfa/totp", {"current_password": PASSWORD}, account)
        assert started.status_code == 200, started.text
        secret = started.json()["secret"]
        confirmed = self.post("/api/auth/mfa/totp/confirm", {"code": self.code(secret)}, account)
        assert confirmed.status_code == 200, confirmed.text
        self.next_step()
        return secret, confirmed.json()["recovery_codes"]

    def challenge(self) -> str:
        """Log Ann in with the password; return the ``mfa_token`` the login answers."""
        answer = self.login()
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["mfa_required"] is True, body
        return str(body["mfa_token"])

    def verify(self, mfa_token: str, **code: str) -> httpx.Response:
        """POST the second step with *code* (``code=`` or ``recovery_code=``)."""
        return self.post("/api/auth/mfa/verify", {"mfa_token": mfa_token, **code})

    def mail(self, count: int, *, timeout: float = 15) -> list[MailMessage]:
        """Wait until *count* messages were sent (the dispatcher runs in the background)."""
        deadline = time.monotonic() + timeout
        while len(self.mailer.sent) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.mailer.sent)


@pytest.fixture
def mfa(empty_database: str, http_settings: Settings) -> Iterator[Mfa]:
    """Yield the application on a manual clock (now), with its dispatcher mailing into memory."""
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    mailer = InMemoryMailer()
    # No verification links: the tests here read the second factor's mail alone.
    settings = http_settings.evolve(email_verification=VerificationMode.OFF)
    service = UserManagement.from_url(empty_database, settings, clock=clock, mailer=mailer)
    with TestClient(create_app(service, settings)) as client:
        yield Mfa(client, clock, mailer, Api(client, empty_database, settings))


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    return body


def test_enable_scan_confirm_and_sign_in_in_two_steps(mfa: Mfa) -> None:
    """The whole flow a client sees, from setting TOTP up to a session with amr pwd+otp."""
    ann = mfa.api.account(EMAIL)

    started = mfa.post("/api/auth/mfa/totp", {"current_password": PASSWORD}, ann)
    assert started.status_code == 200
    assert started.headers["cache-control"] == "no-store"
    body = started.json()
    assert set(body) == {"secret", "otpauth_uri", "qr_svg"}
    assert body["otpauth_uri"].startswith("otpauth://totp/usermgmt:ann%40example.org?secret=")
    assert body["qr_svg"].startswith("<svg")
    assert mfa.login().json()["access_token"]  # pending: not asked for yet

    confirmed = mfa.post("/api/auth/mfa/totp/confirm", {"code": mfa.code(body["secret"])}, ann)
    assert confirmed.status_code == 200
    codes = confirmed.json()["recovery_codes"]
    assert len(set(codes)) == 10
    assert all(CODE_SHAPE.fullmatch(code) for code in codes)
    assert mfa.api.me(ann).json()["mfa_enabled"] is True

    mfa.next_step()
    first = mfa.login()
    assert first.status_code == 200
    challenge = first.json()
    assert set(challenge) == {"mfa_required", "mfa_token", "expires_in", "methods"}
    assert (challenge["expires_in"], challenge["methods"]) == (300, ["totp", "recovery_code"])

    second = mfa.verify(challenge["mfa_token"], code=mfa.code(body["secret"]))
    assert second.status_code == 200, second.text
    tokens = second.json()
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["amr"] == ["pwd", "otp"]
    me = mfa.client.get("/api/auth/me", headers=bearer(tokens["access_token"]))
    assert me.json()["email"] == EMAIL
    refreshed = mfa.post("/api/auth/refresh", {"refresh_token": tokens["refresh_token"]})
    refreshed_claims = jwt.decode(
        refreshed.json()["access_token"], options={"verify_signature": False}
    )
    assert refreshed_claims["amr"] == ["pwd", "otp"]


def test_enabling_ends_the_other_sessions_and_keeps_this_one(mfa: Mfa) -> None:
    """Confirming TOTP signs every other session out."""
    ann = mfa.api.account(EMAIL)
    other = mfa.api.login(EMAIL)

    mfa.enable(ann)

    assert mfa.api.me(ann).status_code == 200
    gone = mfa.client.get("/api/auth/me", headers=bearer(other["access_token"]))
    assert gone.status_code == 401


def test_setting_up_needs_the_current_password(mfa: Mfa) -> None:
    """422 without it, 403 when wrong, 401 without a token; 409 once TOTP is on."""
    ann = mfa.api.account(EMAIL)

    missing = _problem(mfa.post("/api/auth/mfa/totp", {}, ann), 422)
    assert missing["errors"][0]["field"] == "current_password"
    wrong = _problem(mfa.post("/api/auth/mfa/totp", {"current_password": "nope"}, ann), 403)
    assert wrong["type"] == "/problems/wrong-password"
    _problem(mfa.post("/api/auth/mfa/totp", {"current_password": PASSWORD}), 401)
    mfa.enable(ann)
    again = _problem(mfa.post("/api/auth/mfa/totp", {"current_password": PASSWORD}, ann), 409)
    assert again["type"] == "/problems/totp-already-enabled"


def test_confirm_refuses_a_wrong_code_and_a_missing_key(mfa: Mfa) -> None:
    """422 on ``code`` for a wrong code; 409 with nothing to confirm."""
    ann = mfa.api.account(EMAIL)
    nothing = mfa.post("/api/auth/mfa/totp/confirm", {"code": "123456"}, ann)
    assert _problem(nothing, 409)["type"] == "/problems/mfa-not-enabled"

    secret = mfa.post("/api/auth/mfa/totp", {"current_password": PASSWORD}, ann).json()["secret"]
    wrong = pyotp.TOTP(secret).at(mfa.clock.now() + 5 * STEP)
    refused = _problem(mfa.post("/api/auth/mfa/totp/confirm", {"code": wrong}, ann), 422)
    assert refused["errors"][0]["field"] == "code"
    assert mfa.api.me(ann).json()["mfa_enabled"] is False


def test_a_code_is_accepted_once_and_every_failure_looks_the_same(mfa: Mfa) -> None:
    """Replay, wrong code, unknown token, spent token: one 401 body for all."""
    ann = mfa.api.account(EMAIL)
    secret, _ = mfa.enable(ann)
    code = mfa.code(secret)
    first = mfa.challenge()
    assert mfa.verify(first, code=code).status_code == 200

    answers = [
        mfa.verify(mfa.challenge(), code=code),  # the same code: replayed
        mfa.verify(mfa.challenge(), code="000000"),
        mfa.verify("not a token at all", code=mfa.code(secret)),
        mfa.verify(first, code=mfa.code(secret)),  # spent by its success
    ]
    bodies = [_problem(answer, 401) for answer in answers]
    assert all(body == bodies[0] for body in bodies)
    assert bodies[0]["type"] == "/problems/invalid-mfa-code"
    assert "access_token" not in mfa.login().json()


def test_the_verify_body_needs_one_code(mfa: Mfa) -> None:
    """Neither or both of code and recovery_code: 422; an unknown field: 422."""
    ann = mfa.api.account(EMAIL)
    mfa.enable(ann)
    token = mfa.challenge()
    _problem(mfa.verify(token), 422)
    _problem(mfa.verify(token, code="123456", recovery_code="abcd-efgh-ijkl-mnop"), 422)
    _problem(mfa.post("/api/auth/mfa/verify", {"mfa_token": token, "otp": "1"}), 422)
    _problem(mfa.verify(token, code="1" * 65), 422)


def test_wrong_codes_throttle_the_account_and_a_new_token_does_not_reset_it(mfa: Mfa) -> None:
    """Five wrong codes: 429 with a growing Retry-After, whichever mfa_token comes next."""
    ann = mfa.api.account(EMAIL)
    secret, _ = mfa.enable(ann)
    token = mfa.challenge()
    for _ in range(5):
        _problem(mfa.verify(token, code="000000"), 401)

    fresh = mfa.challenge()
    throttled = mfa.verify(fresh, code=mfa.code(secret))
    assert _problem(throttled, 429)["type"] == "/problems/mfa-throttled"
    assert throttled.headers["retry-after"] == "1"
    mfa.clock.advance(timedelta(seconds=1))
    _problem(mfa.verify(fresh, code="000000"), 401)
    assert mfa.verify(fresh, code="000000").headers["retry-after"] == "2"

    mfa.clock.advance(timedelta(seconds=2))
    _problem(mfa.verify(token, code=mfa.code(secret)), 401)  # five wrong codes voided it
    mfa.clock.advance(timedelta(seconds=4))
    assert mfa.verify(fresh, code=mfa.code(secret)).status_code == 200


def test_a_recovery_code_works_once_and_sends_a_notice(mfa: Mfa) -> None:
    """A code stands in for the app once; a notice names how many are left."""
    ann = mfa.api.account(EMAIL)
    _, codes = mfa.enable(ann)

    used = mfa.verify(mfa.challenge(), recovery_code=codes[0].upper().replace("-", " "))
    assert used.status_code == 200, used.text
    assert mfa.verify(mfa.challenge(), recovery_code=codes[0]).status_code == 401

    notice = next(m for m in mfa.mail(1) if m.kind is MailKind.RECOVERY_CODE_USED)
    assert notice.to.address == EMAIL
    assert "9 unused codes" in notice.text
    assert codes[0] not in notice.text


def test_regenerating_voids_the_old_set(mfa: Mfa) -> None:
    """A new set, with the current password; old codes stop working; a notice goes out."""
    ann = mfa.api.account(EMAIL)
    _, old = mfa.enable(ann)

    _problem(mfa.post("/api/auth/mfa/recovery-codes", {}, ann), 422)
    _problem(mfa.post("/api/auth/mfa/recovery-codes", {"current_password": "no"}, ann), 403)
    answer = mfa.post("/api/auth/mfa/recovery-codes", {"current_password": PASSWORD}, ann)
    assert answer.status_code == 200
    new = answer.json()["recovery_codes"]

    assert len(new) == 10 and not set(new) & set(old)  # noqa: PT018
    assert mfa.verify(mfa.challenge(), recovery_code=old[1]).status_code == 401
    assert mfa.verify(mfa.challenge(), recovery_code=new[1]).status_code == 200
    kinds = {m.kind for m in mfa.mail(2)}
    assert MailKind.RECOVERY_CODES_REGENERATED in kinds


def test_regenerating_without_totp_is_a_conflict(mfa: Mfa) -> None:
    """No factor on: 409."""
    ann = mfa.api.account(EMAIL)
    refused = mfa.post("/api/auth/mfa/recovery-codes", {"current_password": PASSWORD}, ann)
    assert _problem(refused, 409)["type"] == "/problems/mfa-not-enabled"


def test_removing_needs_the_password_and_a_code(mfa: Mfa) -> None:
    """403 for a wrong password, 422 for a wrong code, 204 with both; login asks no more."""
    ann = mfa.api.account(EMAIL)
    secret, codes = mfa.enable(ann)
    tokens = mfa.verify(mfa.challenge(), code=mfa.code(secret)).json()
    me = Account(ann.id, EMAIL, tokens["access_token"], tokens["refresh_token"])
    mfa.next_step()

    _problem(mfa.delete("/api/auth/mfa/totp", {"current_password": PASSWORD}, me), 422)
    wrong_password = {"current_password": "wrong", "code": mfa.code(secret)}
    _problem(mfa.delete("/api/auth/mfa/totp", wrong_password, me), 403)
    wrong_code = {"current_password": PASSWORD, "code": "000000"}
    assert (
        _problem(mfa.delete("/api/auth/mfa/totp", wrong_code, me), 422)["errors"][0]["field"]
        == "code"
    )
    removed = mfa.delete("/api/auth/mfa/totp", {"current_password": PASSWORD, "code": codes[3]}, me)

    assert removed.status_code == 204
    assert mfa.login().json()["access_token"]
    assert mfa.api.me(me).json()["mfa_enabled"] is False
    again = {"current_password": PASSWORD, "code": codes[4]}
    assert _problem(mfa.delete("/api/auth/mfa/totp", again, me), 409)["type"] == (
        "/problems/mfa-not-enabled"
    )


def test_an_admin_resets_a_lost_phone_and_every_session_ends(mfa: Mfa) -> None:
    """Admins only (403 for the user, 404 for no one); the user's sessions end."""
    ann = mfa.api.account(EMAIL)
    mfa.enable(ann)
    admin = mfa.api.admin()
    path = f"/api/users/{ann.id}/mfa"

    _problem(mfa.client.delete(path, headers=ann.headers), 403)
    nobody = "/api/users/00000000-0000-4000-8000-000000000000/mfa"
    _problem(mfa.client.delete(nobody, headers=admin.headers), 404)
    assert mfa.client.delete(path, headers=admin.headers).status_code == 204

    assert mfa.api.me(ann).status_code == 401
    assert mfa.login().json()["access_token"]
    shown = mfa.client.get(f"/api/users/{ann.id}", headers=admin.headers).json()
    assert shown["mfa_enabled"] is False


def test_a_password_reset_does_not_bypass_the_factor(mfa: Mfa) -> None:
    """After a reset the new password still leads to the second step, never to tokens."""
    ann = mfa.api.account(EMAIL)
    mfa.enable(ann)
    new_password = "a brand new passphrase"
    forgot = mfa.post("/api/auth/password/forgot", {"email": EMAIL})
    assert forgot.status_code == 202
    link = next(m for m in mfa.mail(1) if m.kind is MailKind.RESET_PASSWORD)
    token = re.search(r"#token=([A-Za-z0-9_-]+)", link.text)
    assert token is not None
    reset = mfa.post("/api/auth/password/reset", {"token": token[1], "password": new_password})
    assert reset.status_code == 204

    answer = mfa.login(new_password).json()
    assert answer["mfa_required"] is True
    assert "access_token" not in answer


def test_one_code_sent_twice_at_once_signs_in_once(mfa: Mfa) -> None:
    """Parallel second steps with the same code and token: one 200, the others 401."""
    ann = mfa.api.account(EMAIL)
    secret, _ = mfa.enable(ann)
    token, code = mfa.challenge(), mfa.code(secret)

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: mfa.verify(token, code=code).status_code, range(4)))

    assert sorted(answers) == [200, 401, 401, 401]


def test_each_step_leaves_its_audit_row(mfa: Mfa) -> None:
    """Enabling, a failure with its reason, a recovery code, a new set, a reset: all logged."""
    ann = mfa.api.account(EMAIL)
    _, codes = mfa.enable(ann)
    mfa.verify(mfa.challenge(), code="000000")
    tokens = mfa.verify(mfa.challenge(), recovery_code=codes[0]).json()
    me = Account(ann.id, EMAIL, tokens["access_token"], tokens["refresh_token"])
    mfa.post("/api/auth/mfa/recovery-codes", {"current_password": PASSWORD}, me)
    admin = mfa.api.admin()
    assert mfa.client.delete(f"/api/users/{ann.id}/mfa", headers=admin.headers).is_success

    rows = mfa.client.get(
        "/api/audit", params={"user_id": ann.id, "per_page": 100}, headers=admin.headers
    ).json()["items"]
    seen = {(row["type"], row["outcome"]): row for row in rows}
    assert seen["mfa_enabled", "success"]["actor_id"] == ann.id
    assert seen["mfa_failed", "failure"]["details"] == {"reason": "wrong_code"}
    assert seen["recovery_code_used", "success"]["details"] == {"remaining": 9}
    assert ("recovery_codes_regenerated", "success") in seen
    reset = seen["mfa_reset", "success"]
    assert (reset["actor_id"], reset["details"]) == (
        admin.id,
        {"sessions_ended": 2},
    )  # the enabling one and the last
