"""The virtual passkey against the real ``webauthn`` relying party: what verifies, what is refused.

Every test runs the library's own ``generate_*_options`` and ``verify_*_response``,
with user verification required as the passkey feature requires it, and sends the
options through JSON as the HTTP API will. Besides the refusals, some tests pin
down what the library leaves to its caller: a second assertion over a spent
challenge verifies (the server must spend challenges), a counter of 0 is never
compared, and a few malformed responses escape its exception hierarchy.
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from typing import Any, Literal

import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import given
from hypothesis import strategies as st
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.authentication.verify_authentication_response import VerifiedAuthentication
from webauthn.helpers import decode_credential_public_key, decoded_public_key_to_cryptography
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import (
    InvalidAuthenticationResponse,
    InvalidBackupFlags,
    InvalidRegistrationResponse,
    WebAuthnException,
)
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    CredentialDeviceType,
    PublicKeyCredentialCreationOptions,
    PublicKeyCredentialDescriptor,
    PublicKeyCredentialRequestOptions,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)
from webauthn.registration.verify_registration_response import VerifiedRegistration

from tests.authenticator import (
    AAGUID,
    Algorithm,
    AuthenticationResponseJSON,
    InvalidStateError,
    NotAllowedError,
    NotSupportedError,
    RegistrationResponseJSON,
    VirtualAuthenticator,
    b64url,
    b64url_decode,
)

RP_ID = "localhost"
ORIGIN = "http://localhost:8000"
USER_ID = b"\x01" * 32


def creation_options(
    resident_key: ResidentKeyRequirement = ResidentKeyRequirement.REQUIRED,
    exclude: list[bytes] | None = None,
    algorithms: list[COSEAlgorithmIdentifier] | None = None,
) -> PublicKeyCredentialCreationOptions:
    """The creation options the passkey feature sends: a resident key, verification required."""
    return generate_registration_options(
        rp_id=RP_ID,
        rp_name="usermgmt",
        user_id=USER_ID,
        user_name="ann@example.org",
        user_display_name="Ann",
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=resident_key, user_verification=UserVerificationRequirement.REQUIRED
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=i) for i in exclude or []],
        supported_pub_key_algs=algorithms,
    )


def request_options(allow: list[bytes] | None = None) -> PublicKeyCredentialRequestOptions:
    """The request options of a discoverable login (no *allow* list), verification required."""
    return generate_authentication_options(
        rp_id=RP_ID,
        allow_credentials=[PublicKeyCredentialDescriptor(id=i) for i in allow or []],
        user_verification=UserVerificationRequirement.REQUIRED,
    )


def as_json(options: PublicKeyCredentialCreationOptions | PublicKeyCredentialRequestOptions) -> Any:
    """The options as a client receives them inside an HTTP API's JSON body."""
    return json.loads(options_to_json(options))


def register(
    credential: RegistrationResponseJSON | dict[str, Any],
    options: PublicKeyCredentialCreationOptions,
    *,
    require_user_verification: bool = True,
) -> VerifiedRegistration:
    """Verify *credential* as the relying party of *options* does."""
    return verify_registration_response(
        credential=dict(credential),
        expected_challenge=options.challenge,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
        require_user_verification=require_user_verification,
    )


def sign_in(
    assertion: AuthenticationResponseJSON | dict[str, Any],
    options: PublicKeyCredentialRequestOptions,
    enrolled: VerifiedRegistration,
    *,
    current_sign_count: int = 0,
    require_user_verification: bool = True,
) -> VerifiedAuthentication:
    """Verify *assertion* against the enrolled credential, as the relying party does."""
    return verify_authentication_response(
        credential=dict(assertion),
        expected_challenge=options.challenge,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
        credential_public_key=enrolled.credential_public_key,
        credential_current_sign_count=current_sign_count,
        require_user_verification=require_user_verification,
    )


@pytest.fixture
def passkey() -> VirtualAuthenticator:
    """A fresh authenticator on the page the relying party expects."""
    return VirtualAuthenticator(origin=ORIGIN)


@pytest.fixture
def enrolled(passkey: VirtualAuthenticator) -> VerifiedRegistration:
    """A discoverable, counting credential the relying party has verified and stored."""
    options = creation_options()
    return register(passkey.create(as_json(options)), options)


# Registration: what verifies.


@pytest.mark.parametrize("attestation", ["none", "packed"])
@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_a_registration_verifies_with_user_verification_required(
    algorithm: Algorithm, attestation: Literal["none", "packed"]
) -> None:
    """Each supported key type and attestation format passes the library's full check."""
    passkey = VirtualAuthenticator(origin=ORIGIN, algorithms=(algorithm,))
    options = creation_options()

    verified = register(passkey.create(as_json(options), attestation=attestation), options)

    assert verified.credential_id == passkey.credentials[0].id
    assert verified.fmt == attestation
    assert verified.user_verified
    assert verified.sign_count == 0
    assert verified.aaguid == str(uuid.UUID(bytes=AAGUID))
    assert decode_credential_public_key(verified.credential_public_key).alg == algorithm.value


def test_options_sent_as_text_work_like_parsed_options(passkey: VirtualAuthenticator) -> None:
    """The options may be handed over as the JSON text ``options_to_json`` writes."""
    options = creation_options()

    verified = register(passkey.create(options_to_json(options)), options)

    assert verified.credential_id == passkey.credentials[0].id


def test_the_algorithm_is_the_first_of_the_relying_partys_that_it_supports() -> None:
    """The RP's order of ``pubKeyCredParams`` decides, as WebAuthn says it does."""
    passkey = VirtualAuthenticator(origin=ORIGIN, algorithms=(Algorithm.ES256, Algorithm.EDDSA))
    options = creation_options(
        algorithms=[
            COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256,
            COSEAlgorithmIdentifier.EDDSA,
            COSEAlgorithmIdentifier.ECDSA_SHA_256,
        ]
    )

    verified = register(passkey.create(as_json(options)), options)

    assert decode_credential_public_key(verified.credential_public_key).alg == Algorithm.EDDSA.value


def test_the_response_json_is_the_level_3_shape_and_its_copies_agree(
    passkey: VirtualAuthenticator,
) -> None:
    """``publicKey`` and ``authenticatorData`` repeat what the attestation object holds."""
    options = creation_options()

    credential = passkey.create(as_json(options))

    verified = register(credential, options)
    response = credential["response"]
    attestation = cbor2.loads(b64url_decode(response["attestationObject"]))
    stored = decoded_public_key_to_cryptography(
        decode_credential_public_key(verified.credential_public_key)
    )
    assert set(credential) == {
        "id",
        "rawId",
        "response",
        "authenticatorAttachment",
        "clientExtensionResults",
        "type",
    }
    assert b64url_decode(response["authenticatorData"]) == attestation["authData"]
    assert b64url_decode(response["publicKey"]) == stored.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert response["publicKeyAlgorithm"] == passkey.credentials[0].algorithm
    assert response["transports"] == ["hybrid", "internal"]


@pytest.mark.parametrize(
    ("resident_key", "discoverable"),
    [
        (ResidentKeyRequirement.REQUIRED, True),
        (ResidentKeyRequirement.PREFERRED, True),
        (ResidentKeyRequirement.DISCOURAGED, False),
    ],
)
def test_a_resident_key_is_made_unless_discouraged(
    passkey: VirtualAuthenticator, resident_key: ResidentKeyRequirement, discoverable: bool
) -> None:
    """The credProps extension reports what was made, and the user handle is kept."""
    options = as_json(creation_options(resident_key=resident_key))
    options["extensions"] = {"credProps": True}

    credential = passkey.create(options)

    assert credential["clientExtensionResults"] == {"credProps": {"rk": discoverable}}
    assert passkey.credentials[0].discoverable is discoverable
    assert passkey.credentials[0].user_handle == USER_ID


@pytest.mark.parametrize(
    ("backup_eligible", "backed_up", "device_type"),
    [
        (False, False, CredentialDeviceType.SINGLE_DEVICE),
        (True, False, CredentialDeviceType.MULTI_DEVICE),
        (True, True, CredentialDeviceType.MULTI_DEVICE),
    ],
)
def test_the_backup_flags_reach_the_relying_party(
    passkey: VirtualAuthenticator,
    backup_eligible: bool,
    backed_up: bool,
    device_type: CredentialDeviceType,
) -> None:
    """BE says a passkey may sync, BS that it has: both at enrolment and at each sign-in."""
    options = creation_options()
    credential = passkey.create(
        as_json(options), backup_eligible=backup_eligible, backed_up=backed_up
    )
    enrolled = register(credential, options)
    login = request_options()

    verified = sign_in(passkey.get(as_json(login)), login, enrolled)

    assert (enrolled.credential_device_type, enrolled.credential_backed_up) == (
        device_type,
        backed_up,
    )
    assert (verified.credential_device_type, verified.credential_backed_up) == (
        device_type,
        backed_up,
    )


# Registration: what is refused.


@pytest.mark.parametrize(
    ("knobs", "reason"),
    [
        ({"origin": "https://evil.example"}, "Unexpected client data origin"),
        ({"rp_id": "evil.example"}, "Unexpected RP ID hash"),
        ({"challenge": b"\x00" * 64}, "challenge was not expected challenge"),
        ({"user_verified": False}, "User verification is required"),
        ({"user_present": False}, "User presence was required"),
        ({"attested_credential_data": False}, "did not provide attested credential data"),
        ({"attestation": "packed", "tamper_signature": True}, "Could not verify attestation"),
    ],
)
def test_a_registration_is_refused(
    passkey: VirtualAuthenticator, knobs: dict[str, Any], reason: str
) -> None:
    """Each lie the registration knobs tell is refused, for its own reason."""
    options = creation_options()

    credential = passkey.create(as_json(options), **knobs)

    with pytest.raises(InvalidRegistrationResponse, match=reason):
        register(credential, options)


def test_only_the_uv_flag_decides_whether_verification_passes(
    passkey: VirtualAuthenticator,
) -> None:
    """A response without UV verifies when verification is not required: the flag is the check."""
    options = creation_options()

    credential = passkey.create(as_json(options), user_verified=False)

    assert not register(credential, options, require_user_verification=False).user_verified


def test_backed_up_without_backup_eligible_is_refused_outside_registration_errors(
    passkey: VirtualAuthenticator,
) -> None:
    """BS without BE raises the library's InvalidBackupFlags, not InvalidRegistrationResponse."""
    options = creation_options()

    credential = passkey.create(as_json(options), backed_up=True)

    with pytest.raises(InvalidBackupFlags):
        register(credential, options)


# Authentication: what verifies.


def test_a_discoverable_login_verifies_and_names_the_user(
    passkey: VirtualAuthenticator, enrolled: VerifiedRegistration
) -> None:
    """With no ``allowCredentials`` the passkey answers with the user handle it stored."""
    login = request_options()

    assertion = passkey.get(as_json(login))

    verified = sign_in(assertion, login, enrolled)
    assert verified.credential_id == enrolled.credential_id
    assert verified.user_verified
    assert verified.new_sign_count == 1
    assert b64url_decode(assertion["response"]["userHandle"]) == USER_ID


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_a_login_for_a_listed_credential_verifies(algorithm: Algorithm) -> None:
    """A credential named in ``allowCredentials`` signs, whether ES256 or Ed25519."""
    passkey = VirtualAuthenticator(origin=ORIGIN, algorithms=(algorithm,))
    options = creation_options(resident_key=ResidentKeyRequirement.DISCOURAGED)
    enrolled = register(passkey.create(as_json(options)), options)
    login = request_options(allow=[enrolled.credential_id])

    assertion = passkey.get(options_to_json(login))

    assert sign_in(assertion, login, enrolled).credential_id == enrolled.credential_id
    assert "userHandle" not in assertion["response"]


def test_the_counter_grows_by_one_per_sign_in(
    passkey: VirtualAuthenticator, enrolled: VerifiedRegistration
) -> None:
    """Each sign-in verifies against the count the relying party stored after the last one."""
    stored = enrolled.sign_count
    counts = []

    for _ in range(3):
        login = request_options()
        stored = sign_in(
            passkey.get(as_json(login)), login, enrolled, current_sign_count=stored
        ).new_sign_count
        counts.append(stored)

    assert counts == [1, 2, 3]


def test_a_faked_count_leaves_the_stored_counter_alone(
    passkey: VirtualAuthenticator, enrolled: VerifiedRegistration
) -> None:
    """After a ``sign_count=`` assertion the next honest one carries the next real count."""
    passkey.get(as_json(request_options()), sign_count=7)
    login = request_options()

    verified = sign_in(passkey.get(as_json(login)), login, enrolled)

    assert verified.new_sign_count == 1


def test_a_credential_that_does_not_count_reports_zero_and_the_library_accepts_it(
    passkey: VirtualAuthenticator,
) -> None:
    """The library compares counters only when one is non-zero: 0 after 0 verifies."""
    options = creation_options()
    enrolled = register(passkey.create(as_json(options), counting=False), options)
    counts = []

    for _ in range(2):
        login = request_options()
        counts.append(sign_in(passkey.get(as_json(login)), login, enrolled).new_sign_count)

    assert counts == [0, 0]


# Authentication: what is refused.


@pytest.mark.parametrize(
    ("knobs", "stored_count", "reason"),
    [
        ({"origin": "https://evil.example"}, 0, "Unexpected client data origin"),
        ({"rp_id": "evil.example"}, 0, "Unexpected RP ID hash"),
        ({"challenge": b"\x00" * 64}, 0, "challenge was not expected challenge"),
        ({"user_verified": False}, 0, "User verification is required"),
        ({"user_present": False}, 0, "User was not present"),
        ({"tamper_signature": True}, 0, "Could not verify authentication signature"),
        ({"sign_count": 3}, 5, "sign count of 3 was not greater than current count of 5"),
        ({"sign_count": 5}, 5, "sign count of 5 was not greater than current count of 5"),
        ({"sign_count": 0}, 5, "sign count of 0 was not greater than current count of 5"),
    ],
)
def test_a_login_is_refused(
    passkey: VirtualAuthenticator,
    enrolled: VerifiedRegistration,
    knobs: dict[str, Any],
    stored_count: int,
    reason: str,
) -> None:
    """Each lie the login knobs tell is refused, for its own reason."""
    login = request_options()

    assertion = passkey.get(as_json(login), **knobs)

    with pytest.raises(InvalidAuthenticationResponse, match=reason):
        sign_in(assertion, login, enrolled, current_sign_count=stored_count)


def test_presence_is_required_even_when_verification_is_not(
    passkey: VirtualAuthenticator, enrolled: VerifiedRegistration
) -> None:
    """The library refuses an assertion without UP whatever the caller asks."""
    login = request_options()

    assertion = passkey.get(as_json(login), user_present=False)

    with pytest.raises(InvalidAuthenticationResponse, match="User was not present"):
        sign_in(assertion, login, enrolled, require_user_verification=False)


@given(
    algorithm=st.sampled_from(Algorithm),
    part=st.sampled_from(["authenticatorData", "clientDataJSON", "signature"]),
    position=st.integers(min_value=0, max_value=2**16),
)
def test_any_bit_flipped_in_a_signed_part_is_refused(
    algorithm: Algorithm, part: str, position: int
) -> None:
    """Nothing of an assertion can change by one bit and still verify."""
    passkey = VirtualAuthenticator(origin=ORIGIN, algorithms=(algorithm,))
    options = creation_options()
    enrolled = register(passkey.create(as_json(options)), options)
    login = request_options()
    assertion: dict[str, Any] = copy.deepcopy(dict(passkey.get(as_json(login))))
    raw = bytearray(b64url_decode(assertion["response"][part]))
    bit = position % (len(raw) * 8)  # DER signatures vary in length
    raw[bit // 8] ^= 1 << (bit % 8)
    assertion["response"][part] = b64url(bytes(raw))

    with pytest.raises(WebAuthnException):
        sign_in(assertion, login, enrolled)


# Replays and unknown credentials.


def test_a_replayed_assertion_of_a_counting_credential_is_refused_by_its_counter(
    passkey: VirtualAuthenticator, enrolled: VerifiedRegistration
) -> None:
    """Once the relying party stores the new count, the same response no longer passes."""
    login = request_options()
    assertion = passkey.get(as_json(login))
    stored = sign_in(assertion, login, enrolled).new_sign_count

    with pytest.raises(InvalidAuthenticationResponse, match="was not greater"):
        sign_in(assertion, login, enrolled, current_sign_count=stored)


def test_the_library_accepts_a_replay_from_a_credential_that_does_not_count(
    passkey: VirtualAuthenticator,
) -> None:
    """With counters at 0 only a single-use, server-side challenge stops a replay."""
    options = creation_options()
    enrolled = register(passkey.create(as_json(options), counting=False), options)
    login = request_options()
    assertion = passkey.get(as_json(login))
    sign_in(assertion, login, enrolled)

    replayed = sign_in(assertion, login, enrolled)

    assert replayed.credential_id == enrolled.credential_id


def test_the_library_accepts_a_fresh_assertion_over_a_spent_challenge(
    passkey: VirtualAuthenticator, enrolled: VerifiedRegistration
) -> None:
    """The counter grows, so only the server's spending of the challenge refuses the second."""
    login = request_options()
    first = sign_in(passkey.get(as_json(login)), login, enrolled)

    second = sign_in(passkey.get(as_json(login)), login, enrolled, current_sign_count=1)

    assert (first.new_sign_count, second.new_sign_count) == (1, 2)


def test_a_credential_the_server_does_not_know_fails_against_the_one_it_knows(
    passkey: VirtualAuthenticator, enrolled: VerifiedRegistration
) -> None:
    """A key never registered is no stored key, and cannot pass for one."""
    unknown = passkey.create(as_json(creation_options()))  # made, never sent to the server
    login = request_options()

    assertion = passkey.get(as_json(login), credential_id=b64url_decode(unknown["rawId"]))

    assert b64url_decode(assertion["rawId"]) != enrolled.credential_id
    with pytest.raises(InvalidAuthenticationResponse, match="Could not verify"):
        sign_in(assertion, login, enrolled)


def test_an_id_that_differs_from_the_raw_id_is_refused(
    passkey: VirtualAuthenticator, enrolled: VerifiedRegistration
) -> None:
    """The relying party looks credentials up by ``id``: it must be the signing one's."""
    login = request_options()
    assertion: dict[str, Any] = dict(passkey.get(as_json(login)))
    assertion["id"] = b64url(b"\x00" * 32)

    with pytest.raises(InvalidAuthenticationResponse, match="id and raw_id were not equivalent"):
        sign_in(assertion, login, enrolled)


# What a browser refuses before any authenticator is asked.


def test_a_credential_listed_in_exclude_credentials_is_not_made_again(
    passkey: VirtualAuthenticator, enrolled: VerifiedRegistration
) -> None:
    """A second enrolment of the same passkey ends in InvalidStateError."""
    options = creation_options(exclude=[enrolled.credential_id])

    with pytest.raises(InvalidStateError):
        passkey.create(as_json(options))

    assert len(passkey.credentials) == 1


def test_no_supported_algorithm_ends_in_not_supported_error(
    passkey: VirtualAuthenticator,
) -> None:
    """An RP that offers only RSA gets no credential from an ES256/Ed25519 authenticator."""
    options = creation_options(algorithms=[COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256])

    with pytest.raises(NotSupportedError):
        passkey.create(as_json(options))


def test_a_login_with_no_usable_credential_ends_in_not_allowed_error(
    passkey: VirtualAuthenticator,
) -> None:
    """A credential that is not discoverable is not offered to a login that names none."""
    options = creation_options(resident_key=ResidentKeyRequirement.DISCOURAGED)
    passkey.create(as_json(options))

    with pytest.raises(NotAllowedError):
        passkey.get(as_json(request_options()))


def test_several_usable_credentials_need_a_choice(passkey: VirtualAuthenticator) -> None:
    """As a browser shows an account picker, the test names the credential to use."""
    options = creation_options()
    passkey.create(as_json(options))
    second = passkey.create(as_json(options))
    login = as_json(request_options())

    with pytest.raises(ValueError, match="pass credential_id"):
        passkey.get(login)
    chosen = passkey.get(login, credential_id=b64url_decode(second["rawId"]))

    assert chosen["rawId"] == second["rawId"]


@pytest.mark.parametrize(
    ("origin", "rp_id"),
    [("http://127.0.0.1:8000", "localhost"), ("https://example.org", "app.example.org")],
)
def test_an_rp_id_that_is_not_the_pages_domain_is_refused(origin: str, rp_id: str) -> None:
    """The RP id must be the page's host or a parent domain of it, or a browser stops."""
    passkey = VirtualAuthenticator(origin=origin)
    options = as_json(creation_options())
    options["rp"]["id"] = rp_id

    with pytest.raises(TypeError, match="parent domain"):
        passkey.create(options)


def test_a_parent_domain_rp_id_is_accepted() -> None:
    """A page at app.example.org may enrol for example.org, and the library agrees."""
    passkey = VirtualAuthenticator(origin="https://app.example.org")
    options = generate_registration_options(
        rp_id="example.org", rp_name="usermgmt", user_id=USER_ID, user_name="ann"
    )

    verified = verify_registration_response(
        credential=dict(passkey.create(as_json(options))),
        expected_challenge=options.challenge,
        expected_rp_id="example.org",
        expected_origin="https://app.example.org",
        require_user_verification=True,
    )

    assert verified.credential_id == passkey.credentials[0].id


def test_a_missing_rp_id_is_the_pages_host(passkey: VirtualAuthenticator) -> None:
    """Options without ``rp.id`` or ``rpId`` bind the credential to the page's host."""
    options = as_json(creation_options())
    del options["rp"]["id"]
    passkey.create(options)
    login = as_json(request_options())
    del login["rpId"]

    assertion = passkey.get(login)

    authenticator_data = b64url_decode(assertion["response"]["authenticatorData"])
    assert authenticator_data[:32] == hashlib.sha256(RP_ID.encode()).digest()


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("challenge", "AAAA+/=="),  # standard base64 with padding, not base64url
        ("challenge", "A"),  # a length no base64 has
        ("challenge", 5),
    ],
)
def test_options_a_browser_cannot_parse_are_refused(
    passkey: VirtualAuthenticator, member: str, value: object
) -> None:
    """A relying party that encodes its options wrongly fails here, as in a browser."""
    options = as_json(creation_options())
    options[member] = value

    with pytest.raises(TypeError):
        passkey.create(options)


@pytest.mark.parametrize("size", [0, 65])
def test_a_user_handle_outside_1_to_64_bytes_is_refused(
    passkey: VirtualAuthenticator, size: int
) -> None:
    """WebAuthn bounds ``user.id`` to 1..64 bytes, and browsers enforce it."""
    options = as_json(creation_options())
    options["user"]["id"] = b64url(b"\x07" * size)

    with pytest.raises(TypeError, match="1 to 64 bytes"):
        passkey.create(options)


def test_options_that_are_not_an_object_are_refused(passkey: VirtualAuthenticator) -> None:
    """A JSON array or string is no options object."""
    with pytest.raises(TypeError, match="JSON object"):
        passkey.get("[]")


def test_tampering_with_a_signature_that_none_attestation_lacks_is_a_test_error(
    passkey: VirtualAuthenticator,
) -> None:
    """The knob refuses to do nothing silently."""
    with pytest.raises(ValueError, match="no signature"):
        passkey.create(as_json(creation_options()), tamper_signature=True)

    assert passkey.credentials == []


# What the library leaves to its caller: exceptions outside its own hierarchy.


def test_a_cose_key_without_its_type_escapes_as_a_key_error(
    passkey: VirtualAuthenticator,
) -> None:
    """The relying party must treat any exception from verification as a refusal."""
    options = creation_options()

    credential = passkey.create(as_json(options), cose_key=cbor2.dumps({3: -7}))

    with pytest.raises(KeyError):
        register(credential, options)


def test_a_key_off_the_curve_registers_and_then_breaks_sign_in_with_a_value_error() -> None:
    """With attestation none nothing checks the point: the relying party must load the key."""
    passkey = VirtualAuthenticator(origin=ORIGIN, algorithms=(Algorithm.ES256,))
    options = creation_options()
    key = {1: 2, 3: -7, -1: 1, -2: b"\x01" * 32, -3: b"\x01" * 32}
    enrolled = register(passkey.create(as_json(options), cose_key=cbor2.dumps(key)), options)
    login = request_options()
    assertion = passkey.get(as_json(login))

    with pytest.raises(ValueError, match="not on the curve"):
        decoded_public_key_to_cryptography(
            decode_credential_public_key(enrolled.credential_public_key)
        )
    with pytest.raises(ValueError, match="not on the curve"):
        sign_in(assertion, login, enrolled)


@pytest.mark.parametrize("user_handle", ["é", "A"])
def test_a_user_handle_that_is_not_base64url_escapes_as_a_value_error(
    passkey: VirtualAuthenticator, enrolled: VerifiedRegistration, user_handle: str
) -> None:
    """The user handle is decoded before the library's own error wrapping begins."""
    login = request_options()
    assertion: dict[str, Any] = copy.deepcopy(dict(passkey.get(as_json(login))))
    assertion["response"]["userHandle"] = user_handle

    with pytest.raises(ValueError) as raised:  # noqa: PT011  # the type is the point
        sign_in(assertion, login, enrolled)

    assert not isinstance(raised.value, WebAuthnException)


def test_a_credential_that_is_not_an_object_escapes_as_an_attribute_error(
    enrolled: VerifiedRegistration,
) -> None:
    """Only a str or a dict is parsed: the caller must check the type first."""
    login = request_options()

    with pytest.raises(AttributeError):
        verify_authentication_response(
            credential=[],  # type: ignore[arg-type]  # what a JSON body may hold
            expected_challenge=login.challenge,
            expected_rp_id=RP_ID,
            expected_origin=ORIGIN,
            credential_public_key=enrolled.credential_public_key,
            credential_current_sign_count=0,
        )
