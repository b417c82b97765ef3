"""The relying party adapter: what the library leaves to its caller, refused as a domain error.

Every hostile or broken answer the virtual passkey can produce, and a few
no browser would send, ends in ``PasskeyRejectedError`` on ``credential``:
never a ``KeyError``, ``ValueError`` or ``AttributeError`` from inside the
library, which the HTTP face would have to answer with a 500.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from typing import Any

import cbor2
import pytest

from tests.authenticator import VirtualAuthenticator, b64url
from usermgmt import PasskeyRejectedError
from usermgmt.adapters.webauthn import WebAuthnRelyingParty
from usermgmt.domain.credentials import CredentialId
from usermgmt.domain.model import Email, User, UserId
from usermgmt.domain.passkeys import CHALLENGE_BYTES, PasskeyCredential

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CHALLENGE = b"\x07" * CHALLENGE_BYTES
PARTY = WebAuthnRelyingParty(
    rp_id="localhost", rp_name="usermgmt", origins=("http://localhost:8000",)
)


def _user(email: str = "ann@example.org") -> User:
    return User.register(id=UserId(uuid.uuid4()), email=Email.parse(email), name="Ann", now=NOW)


def _enrolled(passkey: VirtualAuthenticator, user: User) -> PasskeyCredential:
    options = PARTY.registration_options(user=user, challenge=CHALLENGE, exclude=())
    new = PARTY.verify_registration(dict(passkey.create(options)), challenge=CHALLENGE)
    return PasskeyCredential(
        id=CredentialId(uuid.uuid4()),
        user_id=user.id,
        credential_id=new.credential_id,
        public_key=new.public_key,
        sign_count=new.sign_count,
        name="Laptop",
        transports=new.transports,
        backed_up=new.backed_up,
        aaguid=new.aaguid,
        created_at=NOW,
        updated_at=NOW,
    )


def _assertion(passkey: VirtualAuthenticator, **knobs: Any) -> dict[str, Any]:
    options = PARTY.authentication_options(challenge=CHALLENGE)
    return copy.deepcopy(dict(passkey.get(options, **knobs)))


def test_a_registration_keeps_what_the_authenticator_reported() -> None:
    """The credential ID, the counter, the transports, the backup state and the AAGUID."""
    passkey = VirtualAuthenticator()
    stored = _enrolled(passkey, _user())

    assert stored.credential_id == passkey.credentials[0].id
    assert (stored.sign_count, stored.transports, stored.backed_up) == (
        0,
        ("hybrid", "internal"),
        False,
    )
    assert stored.aaguid == str(uuid.UUID(bytes=passkey.aaguid))


@pytest.mark.parametrize(
    "response",
    [[], "text", {}, {"id": "x", "rawId": "x", "type": "public-key", "response": []}],
    ids=["list", "string", "empty", "response-not-an-object"],
)
def test_a_registration_that_is_no_response_object_is_refused(response: Any) -> None:
    """Whatever a JSON body may hold."""
    with pytest.raises(PasskeyRejectedError) as refused:
        PARTY.verify_registration(response, challenge=CHALLENGE)
    assert refused.value.field == "credential"


def test_a_key_off_the_curve_is_refused_at_registration() -> None:
    """Attestation none checks no key: the adapter loads it, so it never breaks a sign-in."""
    options = PARTY.registration_options(user=_user(), challenge=CHALLENGE, exclude=())
    key = {1: 2, 3: -7, -1: 1, -2: b"\x01" * 32, -3: b"\x01" * 32}
    credential = VirtualAuthenticator().create(options, cose_key=cbor2.dumps(key))

    with pytest.raises(PasskeyRejectedError):
        PARTY.verify_registration(dict(credential), challenge=CHALLENGE)


@pytest.mark.parametrize(
    "knobs",
    [{"backed_up": True}, {"attestation": "packed", "tamper_signature": True}],
    ids=["backed-up-not-eligible", "tampered-attestation"],
)
def test_errors_outside_the_registration_hierarchy_are_refused_alike(
    knobs: dict[str, Any],
) -> None:
    """BS without BE raises InvalidBackupFlags in the library: refused like the rest."""
    options = PARTY.registration_options(user=_user(), challenge=CHALLENGE, exclude=())
    credential = VirtualAuthenticator().create(options, **knobs)

    with pytest.raises(PasskeyRejectedError):
        PARTY.verify_registration(dict(credential), challenge=CHALLENGE)


def test_an_excluded_credential_is_listed_with_its_transports() -> None:
    """ExcludeCredentials names the stored passkeys, so the browser refuses a second one."""
    user = _user()
    passkey = VirtualAuthenticator()
    stored = _enrolled(passkey, user)

    options = PARTY.registration_options(user=user, challenge=CHALLENGE, exclude=[stored])

    assert options["excludeCredentials"] == [
        {
            "id": b64url(stored.credential_id),
            "type": "public-key",
            "transports": ["hybrid", "internal"],
        }
    ]


def test_a_sign_in_verifies_and_reports_the_counter() -> None:
    """The library is not asked to compare counters: the use case does."""
    user = _user()
    passkey = VirtualAuthenticator()
    stored = _enrolled(passkey, user)

    asserted = PARTY.verify_authentication(
        _assertion(passkey), challenge=CHALLENGE, user=user, passkey=stored
    )
    backwards = PARTY.verify_authentication(
        _assertion(passkey, sign_count=0), challenge=CHALLENGE, user=user, passkey=stored
    )

    assert (asserted.sign_count, backwards.sign_count) == (1, 0)


def test_a_user_handle_of_another_account_is_refused() -> None:
    """The passkey found by its ID must answer for its own user."""
    user = _user()
    passkey = VirtualAuthenticator()
    stored = _enrolled(passkey, user)

    with pytest.raises(PasskeyRejectedError, match="another account"):
        PARTY.verify_authentication(
            _assertion(passkey), challenge=CHALLENGE, user=_user("bob@example.org"), passkey=stored
        )


@pytest.mark.parametrize(
    "change",
    [
        lambda a: a["response"].update(userHandle="é"),
        lambda a: a["response"].update(userHandle=7),
        lambda a: a.update(response="nope"),
        lambda a: a["response"].pop("signature"),
        lambda a: a.update(id="AAAA"),
    ],
    ids=["handle-not-base64url", "handle-not-text", "response-text", "no-signature", "id"],
)
def test_a_malformed_assertion_is_refused_not_raised(change: Any) -> None:
    """What escapes the library's hierarchy comes out as a refusal."""
    user = _user()
    passkey = VirtualAuthenticator()
    stored = _enrolled(passkey, user)
    assertion = _assertion(passkey)
    change(assertion)

    with pytest.raises(PasskeyRejectedError):
        PARTY.verify_authentication(assertion, challenge=CHALLENGE, user=user, passkey=stored)
    with pytest.raises(PasskeyRejectedError):
        PARTY.verify_authentication([], challenge=CHALLENGE, user=user, passkey=stored)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("response", "found"),
    [
        ({"rawId": "AAEC"}, b"\x00\x01\x02"),
        ({"rawId": 5}, None),
        ({}, None),
        ({"rawId": "a"}, None),
        ([], None),
    ],
)
def test_the_credential_id_is_read_strictly(response: Any, found: bytes | None) -> None:
    """Only base64url text names a credential; anything else names none."""
    assert PARTY.credential_id(response) == found
