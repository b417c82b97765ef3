"""Email verification and email change over HTTP, on PostgreSQL, with the dispatcher running.

Registration mails a link that verifies the address; resend answers alike
for every address; ``required`` refuses an unverified user only once the
password is proven; a change of one's own address waits for the link mailed
to the new one and answers alike whether or not another account has it. The
mail lands in an in-memory mailer that the tests read; one flow goes through
a real SMTP server, and one token is spent twice at once on PostgreSQL.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any, Self

import anyio
import attrs
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.integration.http.helpers import OTHER_PASSWORD, PASSWORD, Api, bearer
from tests.mailserver import StartMailServer
from usermgmt import (
    EmailTakenError,
    InvalidOneTimeTokenError,
    Settings,
    UserManagement,
    VerificationMode,
)
from usermgmt.adapters.mail import InMemoryMailer
from usermgmt.domain.mail import MailKind, MailMessage
from usermgmt.entrypoints.http import create_app

LINK = re.compile(r"(?P<url>\S+/(?P<page>verify-email|reset-password))#token=(?P<token>[\w-]+)")
VARYING = {"date", "x-request-id", "ratelimit-remaining", "ratelimit-reset"}
"""Headers that differ from one request to the next whatever the address."""


def _token(message: MailMessage) -> str:
    found = LINK.search(message.text)
    assert found is not None, message.text
    return found["token"]


@attrs.frozen
class Site:
    """A running application with the mail it sent."""

    client: TestClient[Litestar]
    mailer: InMemoryMailer
    api: Api

    def post(
        self, path: str, body: object = None, **headers: str
    ) -> tuple[int, Any, dict[str, str]]:
        """POST *body* (JSON, or nothing) and return the status, the body and the stable headers."""
        if body is None:
            response = self.client.post(path, headers=headers)
        else:
            response = self.client.post(path, json=body, headers=headers)
        kept = {k: v for k, v in response.headers.items() if k.lower() not in VARYING}
        return response.status_code, response.json() if response.content else None, kept

    def verify(self, token: str) -> tuple[int, Any]:
        status, body, _ = self.post("/api/auth/verify-email", {"token": token})
        return status, body

    def resend(self, email: str) -> tuple[int, str, dict[str, str]]:
        response = self.client.post("/api/auth/verify-email/resend", json={"email": email})
        kept = {k: v for k, v in response.headers.items() if k.lower() not in VARYING}
        return response.status_code, response.text, kept

    def mail_to(
        self, address: str, kind: MailKind, *, count: int = 1, timeout: float = 15
    ) -> list[MailMessage]:
        """Wait until *count* messages of *kind* went to *address*; return those sent."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in self.mailer.sent if m.to.address == address and m.kind is kind]
            if len(found) >= count:
                return found
            time.sleep(0.05)
        return [m for m in self.mailer.sent if m.to.address == address and m.kind is kind]

    def settle(self, seconds: float = 1.5) -> list[MailMessage]:
        """Give the dispatcher time to send what it would; return everything sent."""
        time.sleep(seconds)
        return list(self.mailer.sent)


SiteFactory = Callable[..., Site]


@pytest.fixture
def start_site(empty_database: str, http_settings: Settings) -> Iterator[SiteFactory]:
    """Yield a function that starts the application with some settings changed."""
    with _Sites(empty_database, http_settings) as sites:
        yield sites.start


class _Sites:
    def __init__(self, url: str, settings: Settings) -> None:
        self.url = url
        self.settings = settings.evolve(app_url="https://id.example.org")
        self.stack = ExitStack()

    def start(self, **changes: object) -> Site:
        """Start one more instance; the last one started before it is stopped first.

        One instance at a time, so that the mail of a test lands in the
        mailer of the instance it reads (every instance's dispatcher would
        otherwise deliver some of it).
        """
        self.stack.close()
        settings = self.settings.evolve(**changes)
        mailer = InMemoryMailer()
        service = UserManagement.from_url(self.url, settings, mailer=mailer)
        client = self.stack.enter_context(TestClient(create_app(service, settings)))
        return Site(client, mailer, Api(client, self.url, settings))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stack.close()


@pytest.fixture
def site(start_site: SiteFactory) -> Site:
    """The application with the default verification mode (optional)."""
    return start_site()


# --- registration and the link ------------------------------------------------------------


def test_registration_mails_a_link_that_verifies_the_address_once(site: Site) -> None:
    """Unverified at first; the mailed link verifies (200, the user); a second use is 422."""
    user = site.api.register("ann@example.org")
    assert (user["email_verified"], user["pending_email"]) == (False, None)

    (mail,) = site.mail_to("ann@example.org", MailKind.VERIFY_EMAIL)
    link = LINK.search(mail.text)
    assert link is not None
    assert (link["url"], link["page"]) == ("https://id.example.org/verify-email", "verify-email")

    status, verified = site.verify(link["token"])

    assert status == 200
    assert verified["id"] == user["id"]
    assert verified["email_verified"] is True
    tokens = site.api.login("ann@example.org")
    me = site.client.get("/api/auth/me", headers=bearer(tokens["access_token"])).json()
    assert me["email_verified"] is True
    again, body = site.verify(link["token"])
    assert again == 422
    assert [e["field"] for e in body["errors"]] == ["token"]


def test_every_refused_token_gets_the_same_answer_on_the_token_field(site: Site) -> None:
    """Unknown, spent, a reset link's (another purpose) and malformed: one 422 body for all."""
    site.api.register("ann@example.org")
    spent = _token(site.mail_to("ann@example.org", MailKind.VERIFY_EMAIL)[0])
    assert site.verify(spent)[0] == 200
    site.post("/api/auth/password/forgot", {"email": "ann@example.org"})
    reset = _token(site.mail_to("ann@example.org", MailKind.RESET_PASSWORD)[0])

    answers = [site.verify(token) for token in ("x" * 43, spent, reset, "not a token at all")]

    assert {status for status, _ in answers} == {422}
    assert all(body == answers[0][1] for _, body in answers), answers
    assert [e["field"] for e in answers[0][1]["errors"]] == ["token"]
    assert (
        site.post("/api/auth/password/reset", {"token": reset, "password": OTHER_PASSWORD})[0]
        == 204
    )  # the refused verification did not spend the reset link


@pytest.mark.parametrize(
    "body",
    [{}, {"token": 42}, {"token": "x", "extra": True}, {"token": "x" * 5000}, []],
    ids=["missing", "not-a-string", "unknown-field", "too-long", "not-an-object"],
)
def test_a_malformed_verify_request_is_a_4xx_problem(site: Site, body: object) -> None:
    """Bad input is refused with problem details, never a 500."""
    response = site.client.post("/api/auth/verify-email", json=body)

    assert response.status_code in {400, 422}, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_link_for_a_changed_address_verifies_nothing(site: Site) -> None:
    """An admin moves the user to another address: the link mailed to the old one is refused."""
    admin = site.api.admin()
    user = site.api.register("ann@example.org")
    token = _token(site.mail_to("ann@example.org", MailKind.VERIFY_EMAIL)[0])
    moved = site.client.patch(
        f"/api/users/{user['id']}", json={"email": "ann@elsewhere.org"}, headers=admin.headers
    )
    assert moved.status_code == 200, moved.text

    assert site.verify(token)[0] == 422
    assert moved.json()["email_verified"] is False


def test_a_password_reset_counts_as_verification(site: Site) -> None:
    """The reset link reached the address: after the reset, the user is verified."""
    site.api.register("ann@example.org")
    site.post("/api/auth/password/forgot", {"email": "ann@example.org"})
    reset = _token(site.mail_to("ann@example.org", MailKind.RESET_PASSWORD)[0])

    assert (
        site.post("/api/auth/password/reset", {"token": reset, "password": OTHER_PASSWORD})[0]
        == 204
    )

    tokens = site.api.login("ann@example.org", OTHER_PASSWORD)
    me = site.client.get("/api/auth/me", headers=bearer(tokens["access_token"])).json()
    assert me["email_verified"] is True


# --- resend --------------------------------------------------------------------------------


def test_resend_answers_alike_for_unknown_unverified_and_verified_addresses(
    start_site: SiteFactory,
) -> None:
    """Same status, body and headers for all three; only the unverified address gets a mail.

    The accounts are made before verification was turned on, so no registration
    link holds the quota back.
    """
    before = start_site(email_verification=VerificationMode.OFF)
    before.api.register("waiting@example.org")
    done = before.api.admin("done@example.org")
    site = start_site()
    marked = site.client.patch(
        f"/api/users/{done.id}", json={"email_verified": True}, headers=done.headers
    )
    assert marked.status_code == 200, marked.text

    answers = [
        site.resend(email)
        for email in ("nobody@example.org", "done@example.org", "waiting@example.org")
    ]

    assert answers[0][0] == 202
    assert answers[0][1] == '{"status":"accepted"}'
    assert all(answer == answers[0] for answer in answers), answers
    (mail,) = site.mail_to("waiting@example.org", MailKind.VERIFY_EMAIL)
    assert [m.to.address for m in site.settle()] == ["waiting@example.org"]
    assert site.verify(_token(mail))[0] == 200


def test_resend_with_no_body_mails_the_bearers_own_address(start_site: SiteFactory) -> None:
    """No body and a bearer token: one's own address; no body and no token: 401."""
    before = start_site(email_verification=VerificationMode.OFF)
    user = before.api.register("ann@example.org")
    tokens = before.api.login("ann@example.org")
    site = start_site()

    status, body, _ = site.post("/api/auth/verify-email/resend", **bearer(tokens["access_token"]))
    anonymous = site.client.post("/api/auth/verify-email/resend")

    assert (status, body) == (202, {"status": "accepted"})
    assert anonymous.status_code == 401
    (mail,) = site.mail_to("ann@example.org", MailKind.VERIFY_EMAIL)
    assert site.verify(_token(mail))[1]["id"] == user["id"]


def test_resend_sends_at_most_one_link_a_minute(site: Site) -> None:
    """Right after registration, resends answer 202 and send nothing more."""
    site.api.register("ann@example.org")
    site.mail_to("ann@example.org", MailKind.VERIFY_EMAIL)

    statuses = [site.resend("ann@example.org")[0] for _ in range(3)]

    assert statuses == [202, 202, 202]
    sent = site.settle()
    assert [m.kind for m in sent] == [MailKind.VERIFY_EMAIL]


def test_resend_and_verify_with_mail_disabled(start_site: SiteFactory) -> None:
    """Mail disabled: resend is a 503 mail-disabled problem; registration still works, unmailed."""
    site = start_site(mail_url="disabled")
    user = site.api.register("ann@example.org")

    response = site.client.post("/api/auth/verify-email/resend", json={"email": "ann@example.org"})

    assert response.status_code == 503
    assert response.json()["type"].endswith("/mail-disabled")
    assert user["email_verified"] is False
    assert site.settle(0.5) == []


# --- required, optional, off ---------------------------------------------------------------


def test_required_refuses_an_unverified_user_only_with_the_right_password(
    start_site: SiteFactory,
) -> None:
    """Wrong password: 401 as ever; right password: 403 email-not-verified; verified: 200."""
    site = start_site(email_verification=VerificationMode.REQUIRED)
    site.api.register("ann@example.org")

    wrong = site.client.post(
        "/api/auth/login", json={"email": "ann@example.org", "password": OTHER_PASSWORD}
    )
    right = site.client.post(
        "/api/auth/login", json={"email": "ann@example.org", "password": PASSWORD}
    )

    assert wrong.status_code == 401
    assert right.status_code == 403
    assert right.json()["type"].endswith("/email-not-verified")
    assert "access_token" not in right.text
    token = _token(site.mail_to("ann@example.org", MailKind.VERIFY_EMAIL)[0])
    assert site.verify(token)[0] == 200
    assert site.api.login("ann@example.org")["access_token"]


def test_required_answers_the_throttle_before_the_verification(start_site: SiteFactory) -> None:
    """Past the throttle, even the right password of an unverified user gets 429, not 403."""
    site = start_site(email_verification=VerificationMode.REQUIRED, login_max_failures=2)
    site.api.register("ann@example.org")
    for _ in range(2):
        site.client.post(
            "/api/auth/login", json={"email": "ann@example.org", "password": OTHER_PASSWORD}
        )

    right = site.client.post(
        "/api/auth/login", json={"email": "ann@example.org", "password": PASSWORD}
    )

    assert right.status_code == 429


def test_optional_lets_an_unverified_user_sign_in(site: Site) -> None:
    """The default mode: a link is mailed, and the user signs in before following it."""
    site.api.register("ann@example.org")

    tokens = site.api.login("ann@example.org")

    assert tokens["access_token"]
    assert site.mail_to("ann@example.org", MailKind.VERIFY_EMAIL)


def test_off_mails_nothing_and_a_self_change_applies_at_once(start_site: SiteFactory) -> None:
    """No link at registration; one's own new address is one's at once, with the password."""
    site = start_site(email_verification=VerificationMode.OFF)
    account = site.api.account("ann@example.org")

    missing = site.client.patch(
        f"/api/users/{account.id}", json={"email": "ann.b@example.org"}, headers=account.headers
    )
    changed = site.client.patch(
        f"/api/users/{account.id}",
        json={"email": "ann.b@example.org", "current_password": PASSWORD},
        headers=account.headers,
    )

    assert missing.status_code == 422
    assert changed.status_code == 200, changed.text
    assert (changed.json()["email"], changed.json()["pending_email"]) == ("ann.b@example.org", None)
    assert site.settle(1) == []


# --- email change --------------------------------------------------------------------------


def _change(site: Site, account: Any, email: str, password: str | None = PASSWORD) -> Any:
    body: dict[str, str] = {"email": email}
    if password is not None:
        body["current_password"] = password
    return site.client.patch(f"/api/users/{account.id}", json=body, headers=account.headers)


def test_a_self_email_change_needs_the_current_password(site: Site) -> None:
    """Missing: 422 on current_password; wrong: 403 wrong-password; PUT alike."""
    account = site.api.account("ann@example.org")

    missing = _change(site, account, "ann.b@example.org", None)
    wrong = _change(site, account, "ann.b@example.org", OTHER_PASSWORD)
    put = site.client.put(
        f"/api/users/{account.id}", json={"email": "ann.b@example.org"}, headers=account.headers
    )

    assert missing.status_code == 422
    assert [e["field"] for e in missing.json()["errors"]] == ["current_password"]
    assert wrong.status_code == 403
    assert wrong.json()["type"].endswith("/wrong-password")
    assert put.status_code == 422
    assert site.api.me(account).json()["pending_email"] is None


def test_a_self_email_change_waits_for_the_link_to_the_new_address(site: Site) -> None:
    """200 with pending_email; a link to the new address, a notice to the old; the link moves."""
    account = site.api.account("ann@example.org")

    response = _change(site, account, "Ann.New@example.org")

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["email"], body["pending_email"]) == ("ann@example.org", "ann.new@example.org")
    (confirm,) = site.mail_to("ann.new@example.org", MailKind.CONFIRM_EMAIL_CHANGE)
    (notice,) = site.mail_to("ann@example.org", MailKind.EMAIL_CHANGE_REQUESTED)
    assert "ann.new@example.org" in notice.text
    assert LINK.search(notice.text) is None
    assert site.api.login("ann@example.org")  # still the old address until confirmed

    status, moved = site.verify(_token(confirm))

    assert status == 200
    assert (moved["email"], moved["pending_email"], moved["email_verified"]) == (
        "ann.new@example.org",
        None,
        True,
    )
    assert site.api.login("ann.new@example.org")["access_token"]
    old = site.client.post(
        "/api/auth/login", json={"email": "ann@example.org", "password": PASSWORD}
    )
    assert old.status_code == 401


def test_a_change_to_a_taken_address_answers_alike_and_only_warns_its_owner(site: Site) -> None:
    """Same status, headers and shape as a change to a free address; the owner gets a notice."""
    site.api.register("bob@example.org")
    ann = site.api.account("ann@example.org")
    carl = site.api.account("carl@example.org")

    taken = _change(site, ann, "bob@example.org")
    free = _change(site, carl, "carl.new@example.org")

    def shape(response: Any) -> tuple[int, dict[str, str], set[str]]:
        headers = {
            k: v
            for k, v in response.headers.items()
            if k.lower() not in VARYING | {"content-length"}
        }
        return response.status_code, headers, set(response.json())

    assert shape(taken) == shape(free)
    assert taken.json()["pending_email"] == "bob@example.org"
    assert free.json()["pending_email"] == "carl.new@example.org"
    (warning,) = site.mail_to("bob@example.org", MailKind.EMAIL_IN_USE)
    assert LINK.search(warning.text) is None
    assert site.mail_to("ann@example.org", MailKind.EMAIL_CHANGE_REQUESTED)
    sent = site.settle()
    assert not [
        m for m in sent if m.kind is MailKind.CONFIRM_EMAIL_CHANGE and "bob" in m.to.address
    ]
    assert site.api.login("bob@example.org")  # nothing else happened to bob


def test_a_newer_change_replaces_the_pending_one(site: Site) -> None:
    """Two requests: pending_email is the second; the first link is void, the second works."""
    account = site.api.account("ann@example.org")
    assert _change(site, account, "first@example.org").status_code == 200
    first = _token(site.mail_to("first@example.org", MailKind.CONFIRM_EMAIL_CHANGE)[0])

    second_answer = _change(site, account, "second@example.org")
    second = _token(site.mail_to("second@example.org", MailKind.CONFIRM_EMAIL_CHANGE)[0])

    assert second_answer.json()["pending_email"] == "second@example.org"
    assert site.verify(first)[0] == 422
    status, moved = site.verify(second)
    assert (status, moved["email"]) == (200, "second@example.org")


def test_a_change_whose_address_was_taken_meanwhile_is_a_409(site: Site) -> None:
    """Somebody registers the pending address before the link is spent: 409, and nothing moves."""
    account = site.api.account("ann@example.org")
    _change(site, account, "wanted@example.org")
    token = _token(site.mail_to("wanted@example.org", MailKind.CONFIRM_EMAIL_CHANGE)[0])
    site.api.register("wanted@example.org")

    status, body = site.verify(token)

    assert status == 409
    assert body["type"].endswith("/email-taken")
    assert site.api.me(account).json()["email"] == "ann@example.org"


def test_an_admins_change_applies_at_once_and_leaves_the_address_unverified(
    site: Site,
) -> None:
    """No password, no link: the address is the user's now, not verified; sign-in works on it."""
    admin = site.api.admin()
    user = site.api.register("ann@example.org")
    token = _token(site.mail_to("ann@example.org", MailKind.VERIFY_EMAIL)[0])
    assert site.verify(token)[0] == 200

    response = site.client.patch(
        f"/api/users/{user['id']}", json={"email": "ann@new.example.org"}, headers=admin.headers
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["email"], body["email_verified"], body["pending_email"]) == (
        "ann@new.example.org",
        False,
        None,
    )
    assert site.api.login("ann@new.example.org")


def test_only_admins_mark_an_address_verified(site: Site) -> None:
    """``email_verified`` from a plain user is 403; from an admin it is applied."""
    admin = site.api.admin()
    account = site.api.account("ann@example.org")

    own = site.client.patch(
        f"/api/users/{account.id}", json={"email_verified": True}, headers=account.headers
    )
    by_admin = site.client.patch(
        f"/api/users/{account.id}", json={"email_verified": True}, headers=admin.headers
    )

    assert own.status_code == 403
    assert (by_admin.status_code, by_admin.json()["email_verified"]) == (200, True)


# --- on the library, on PostgreSQL: parallel spends, and real SMTP ------------------------


@pytest.mark.anyio
async def test_a_token_spent_twice_at_once_succeeds_exactly_once(
    empty_database: str, settings: Settings
) -> None:
    """Two verifications of one link in parallel: one user back, one refusal."""
    mailer = InMemoryMailer()
    async with UserManagement.from_url(empty_database, settings, mailer=mailer) as um:
        await um.register_user("ann@example.org", PASSWORD)
        await um.dispatch_events()
        (mail,) = mailer.sent
        token = _token(mail)
        outcomes: list[str] = []

        async def spend() -> None:
            try:
                await um.verify_email(token)
                outcomes.append("verified")
            except InvalidOneTimeTokenError:
                outcomes.append("refused")

        async with anyio.create_task_group() as tasks:
            for _ in range(2):
                tasks.start_soon(spend)

    assert sorted(outcomes) == ["refused", "verified"]


@pytest.mark.anyio
async def test_a_taken_address_is_refused_on_the_library_too(
    empty_database: str, settings: Settings
) -> None:
    """The library's verify_email raises EmailTakenError for a change whose address was taken."""
    mailer = InMemoryMailer()
    async with UserManagement.from_url(empty_database, settings, mailer=mailer) as um:
        ann = await um.register_user("ann@example.org", PASSWORD)
        tokens = await um.authenticate("ann@example.org", PASSWORD)
        principal = await um.validate_access_token(tokens.access_token)
        await um.update_user(
            ann.id, actor=principal, email="wanted@example.org", current_password=PASSWORD
        )
        await um.dispatch_events()
        (confirm,) = [m for m in mailer.sent if m.kind is MailKind.CONFIRM_EMAIL_CHANGE]
        await um.register_user("wanted@example.org", PASSWORD)

        with pytest.raises(EmailTakenError):
            await um.verify_email(_token(confirm))


@pytest.mark.anyio
async def test_the_verification_link_travels_through_a_real_smtp_server(
    empty_database: str, settings: Settings, mail_server: StartMailServer
) -> None:
    """Registration's mail is sent over SMTP with STARTTLS; the link in it verifies the address."""
    server = mail_server(tls="starttls")
    smtp = settings.evolve(mail_url=server.url("smtp"), app_url="https://id.example.org")
    async with UserManagement.from_url(empty_database, smtp) as um:
        user = await um.register_user("ann@example.org", PASSWORD, "Ann")
        with anyio.fail_after(15):
            while not server.messages:
                await um.dispatch_events()
                await anyio.sleep(0.05)
        (received,) = server.messages
        body = received.get_body(preferencelist=("plain",))
        assert body is not None
        text = body.get_content()
        found = LINK.search(text)
        assert found is not None, text

        verified = await um.verify_email(found["token"])

    assert received["To"] == "Ann <ann@example.org>"
    assert found["url"] == "https://id.example.org/verify-email"
    assert (verified.id, verified.email_verified) == (user.id, True)
