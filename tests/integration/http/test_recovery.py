"""Password recovery over HTTP: forgot answers alike for every address; reset spends its link.

The application runs its dispatcher as in production, so a request for a
link is delivered in the background, and the mail lands in an in-memory
mailer that the tests read.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import attrs
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.integration.http.helpers import OTHER_PASSWORD, PASSWORD, Api, bearer
from usermgmt import Settings, UserManagement, VerificationMode
from usermgmt.adapters.mail import InMemoryMailer
from usermgmt.domain.mail import MailKind, MailMessage
from usermgmt.entrypoints.http import create_app

NEW_PASSWORD = "an entirely new passphrase"
LINK = re.compile(r"(?P<url>\S+/reset-password)#token=(?P<token>[A-Za-z0-9_-]+)")


@attrs.frozen
class Recovery:
    """A running application with the mail it sent."""

    client: TestClient[Litestar]
    mailer: InMemoryMailer
    api: Api

    def forgot(self, email: str, **headers: str) -> tuple[int, str, dict[str, str]]:
        response = self.client.post(
            "/api/auth/password/forgot", json={"email": email}, headers=headers
        )
        # What differs from one request to the next whatever the address: the time,
        # the request's id, and the client's remaining rate-limit budget.
        varying = {"date", "x-request-id", "ratelimit-remaining", "ratelimit-reset"}
        kept = {k: v for k, v in response.headers.items() if k.lower() not in varying}
        return response.status_code, response.text, kept

    def reset(self, token: str, password: str = NEW_PASSWORD) -> tuple[int, dict[str, object]]:
        response = self.client.post(
            "/api/auth/password/reset", json={"token": token, "password": password}
        )
        return response.status_code, response.json() if response.content else {}

    def mail(self, count: int, *, timeout: float = 15) -> list[MailMessage]:
        """Wait until at least *count* messages were sent; return them all."""
        deadline = time.monotonic() + timeout
        while len(self.mailer.sent) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.mailer.sent)

    def settle(self, seconds: float = 1.5) -> list[MailMessage]:
        """Give the dispatcher time to send what it would; return everything sent."""
        time.sleep(seconds)
        return list(self.mailer.sent)


def _token(message: MailMessage) -> str:
    found = LINK.search(message.text)
    assert found is not None, message.text
    return found["token"]


@pytest.fixture
def recovery(empty_database: str, http_settings: Settings) -> Iterator[Recovery]:
    """Yield the application with its dispatcher running, mailing into memory."""
    # No verification links: each test here counts the mail of recovery alone.
    settings = http_settings.evolve(
        app_url="https://id.example.org", email_verification=VerificationMode.OFF
    )
    mailer = InMemoryMailer()
    service = UserManagement.from_url(empty_database, settings, mailer=mailer)
    with TestClient(create_app(service, settings)) as client:
        yield Recovery(client, mailer, Api(client, empty_database, settings))


def test_forgot_answers_alike_for_unknown_deleted_deactivated_and_live_addresses(
    recovery: Recovery,
) -> None:
    """Same status, body and headers for all four; only the live account gets a mail."""
    admin = recovery.api.admin()
    recovery.api.register("live@example.org")
    gone = recovery.api.register("gone@example.org")
    idle = recovery.api.register("idle@example.org")
    assert recovery.client.delete(f"/api/users/{gone['id']}", headers=admin.headers).is_success
    deactivated = recovery.client.patch(
        f"/api/users/{idle['id']}", json={"is_active": False}, headers=admin.headers
    )
    assert deactivated.status_code == 200

    answers = [
        recovery.forgot(email)
        for email in (
            "nobody@example.org",
            "gone@example.org",
            "idle@example.org",
            "live@example.org",
        )
    ]

    assert answers[0][0] == 202
    assert answers[0][1] == '{"status":"accepted"}'
    assert all(answer == answers[0] for answer in answers), answers
    sent = recovery.mail(1)
    assert [m.to.address for m in recovery.settle()] == ["live@example.org"]
    assert sent[0].kind is MailKind.RESET_PASSWORD
    link = LINK.search(sent[0].text)
    assert link is not None
    assert link["url"] == "https://id.example.org/reset-password"


def test_a_reset_sets_the_password_ends_every_session_and_sends_a_notice(
    recovery: Recovery,
) -> None:
    """204; old sessions refused, old password refused, new one works; a notice follows."""
    account = recovery.api.account("ann@example.org")
    recovery.forgot("ann@example.org")
    token = _token(recovery.mail(1)[0])

    status, body = recovery.reset(token)

    assert (status, body) == (204, {})
    assert recovery.client.get("/api/auth/me", headers=account.headers).status_code == 401
    refresh = recovery.client.post(
        "/api/auth/refresh", json={"refresh_token": account.refresh_token}
    )
    assert refresh.status_code == 401
    old = recovery.client.post(
        "/api/auth/login", json={"email": "ann@example.org", "password": PASSWORD}
    )
    assert old.status_code == 401
    tokens = recovery.api.login("ann@example.org", NEW_PASSWORD)
    assert recovery.client.get("/api/auth/me", headers=bearer(tokens["access_token"])).is_success
    notice = recovery.mail(2)[1]
    assert notice.kind is MailKind.PASSWORD_CHANGED
    assert notice.to.address == "ann@example.org"
    assert token not in notice.text


def test_every_refused_token_gets_the_same_answer_on_the_token_field(
    recovery: Recovery,
) -> None:
    """Unknown, spent and voided-by-a-password-change tokens: one 422, naming ``token``."""
    recovery.api.register("ann@example.org")
    recovery.forgot("ann@example.org")
    spent = _token(recovery.mail(1)[0])
    assert recovery.reset(spent)[0] == 204

    bob_user = recovery.api.register("bob@example.org")
    recovery.forgot("bob@example.org")
    voided = _token(recovery.mail(3)[-1])
    bob = recovery.api.login("bob@example.org")
    changed = recovery.client.patch(
        f"/api/users/{bob_user['id']}",
        json={"password": OTHER_PASSWORD, "current_password": PASSWORD},
        headers=bearer(bob["access_token"]),
    )
    assert changed.status_code == 200, changed.text

    answers = [recovery.reset(token) for token in ("not-a-token-at-all", spent, voided)]

    assert {status for status, _ in answers} == {422}
    bodies = [body for _, body in answers]
    assert all(body == bodies[0] for body in bodies)
    errors = bodies[0]["errors"]
    assert isinstance(errors, list)
    assert [e["field"] for e in errors] == ["token"]


def test_a_weak_new_password_is_refused_and_the_link_still_works(recovery: Recovery) -> None:
    """The policy's 422 names the password; the token was not spent by the refusal."""
    recovery.api.register("ann@example.org")
    recovery.forgot("ann@example.org")
    token = _token(recovery.mail(1)[0])

    weak_status, weak = recovery.reset(token, "password")

    assert weak_status == 422
    errors = weak["errors"]
    assert isinstance(errors, list)
    assert [e["field"] for e in errors] == ["password"]
    assert recovery.reset(token)[0] == 204


def test_links_are_mailed_at_most_once_a_minute_per_account(recovery: Recovery) -> None:
    """Three requests at once: three 202s, one mail; the first link is the one that works."""
    recovery.api.register("ann@example.org")

    statuses = [recovery.forgot("ann@example.org")[0] for _ in range(3)]

    assert statuses == [202, 202, 202]
    recovery.mail(1)
    sent = recovery.settle()
    assert len(sent) == 1
    assert recovery.reset(_token(sent[0]))[0] == 204


def test_forgot_answers_503_when_mail_is_disabled(
    empty_database: str, http_settings: Settings
) -> None:
    """With USERMGMT_MAIL_URL=disabled the route says so, as a problem: nothing is queued."""
    settings = http_settings.evolve(mail_url="disabled")
    service = UserManagement.from_url(empty_database, settings)
    with TestClient(create_app(service, settings)) as client:
        response = client.post("/api/auth/password/forgot", json={"email": "ann@example.org"})

    assert response.status_code == 503
    assert response.json()["type"].endswith("/mail-disabled")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": 42},
        {"email": "ann@example.org", "extra": True},
        {"email": "not an address"},
    ],
    ids=["missing", "not-a-string", "unknown-field", "not-an-address"],
)
def test_a_malformed_forgot_request_is_a_422_naming_the_field(
    recovery: Recovery, body: dict[str, object]
) -> None:
    """Bad input is refused with problem details, never a 500."""
    response = recovery.client.post("/api/auth/password/forgot", json=body)

    assert response.status_code in {400, 422}, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
