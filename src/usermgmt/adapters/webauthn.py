"""The WebAuthn relying party on the ``webauthn`` library (py_webauthn).

The library writes the options and makes every check of a response that
needs no stored state. What it leaves to its caller is done here or in the
use cases: the type of the JSON it is handed (a list makes it raise
``AttributeError``), its errors outside ``WebAuthnException`` (a malformed
COSE key or user handle raises ``KeyError`` or ``ValueError``), loading the
public key at registration (attestation ``none`` checks no point is on the
curve), the user handle against the passkey's user, and, in the use cases,
spending the challenge once and comparing the counter.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any, Final

import attrs
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import decode_credential_public_key, decoded_public_key_to_cryptography
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from usermgmt.domain.errors import PasskeyRejectedError
from usermgmt.domain.model import User
from usermgmt.domain.passkeys import (
    CEREMONY_LIFETIME,
    NewPasskey,
    PasskeyCredential,
    ResponseJSON,
    VerifiedAssertion,
)

_REFUSED: Final = (WebAuthnException, ValueError, KeyError, TypeError, AttributeError, IndexError)
"""What the library raises for a response it cannot accept, inside and outside its hierarchy."""
_TIMEOUT_MS: Final = int(CEREMONY_LIFETIME.total_seconds() * 1000)
_TRANSPORTS: Final = frozenset(t.value for t in AuthenticatorTransport)


def _b64decode(text: str) -> bytes:
    if not isinstance(text, str):
        raise TypeError("not a string")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _rejected(reason: str) -> PasskeyRejectedError:
    return PasskeyRejectedError("credential", reason)


@attrs.frozen(kw_only=True)
class WebAuthnRelyingParty:
    """The relying party *rp_id*, named *rp_name*, for pages at *origins*."""

    rp_id: str
    rp_name: str
    origins: tuple[str, ...]

    def registration_options(
        self, *, user: User, challenge: bytes, exclude: Sequence[PasskeyCredential]
    ) -> dict[str, Any]:
        """Return creation options: a resident key, user verification required, ES256 or EdDSA."""
        options = generate_registration_options(
            rp_id=self.rp_id,
            rp_name=self.rp_name,
            user_id=user.id.bytes,
            user_name=user.email.value,
            user_display_name=user.name or user.email.value,
            challenge=challenge,
            timeout=_TIMEOUT_MS,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                require_resident_key=True,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[
                PublicKeyCredentialDescriptor(
                    id=p.credential_id,
                    transports=[
                        AuthenticatorTransport(t) for t in p.transports if t in _TRANSPORTS
                    ],
                )
                for p in exclude
            ],
        )
        loaded: dict[str, Any] = json.loads(options_to_json(options))
        return loaded

    def verify_registration(self, response: ResponseJSON, *, challenge: bytes) -> NewPasskey:
        """Verify a registration response; see ``PasskeyVerifier.verify_registration``."""
        if not isinstance(response, dict):
            raise _rejected("must be a registration response object")
        try:
            verified = verify_registration_response(
                credential=response,
                expected_challenge=challenge,
                expected_rp_id=self.rp_id,
                expected_origin=list(self.origins),
                require_user_verification=True,
            )
            # Attestation "none" checks nothing of the key: load it, or a bad point would
            # register and then fail every sign-in.
            decoded_public_key_to_cryptography(
                decode_credential_public_key(verified.credential_public_key)
            )
        except _REFUSED as exc:
            raise _rejected(f"does not verify: {_reason(exc)}") from None
        transports = response.get("response", {}).get("transports", [])
        return NewPasskey(
            credential_id=verified.credential_id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            transports=tuple(t for t in transports if isinstance(t, str) and t in _TRANSPORTS),
            backed_up=verified.credential_backed_up,
            aaguid=verified.aaguid,
        )

    def authentication_options(self, *, challenge: bytes) -> dict[str, Any]:
        """Return request options for a discoverable sign-in: no ``allowCredentials``."""
        options = generate_authentication_options(
            rp_id=self.rp_id,
            challenge=challenge,
            timeout=_TIMEOUT_MS,
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        loaded: dict[str, Any] = json.loads(options_to_json(options))
        return loaded

    def credential_id(self, response: ResponseJSON) -> bytes | None:
        """Return the ``rawId`` of *response*, decoded; ``None`` if it has none."""
        if not isinstance(response, dict):
            return None
        try:
            return _b64decode(response.get("rawId"))  # type: ignore[arg-type]  # checked inside
        except (TypeError, ValueError, binascii.Error):
            return None

    def verify_authentication(
        self, response: ResponseJSON, *, challenge: bytes, user: User, passkey: PasskeyCredential
    ) -> VerifiedAssertion:
        """Verify an authentication response; see ``PasskeyVerifier.verify_authentication``.

        The library is handed a current counter of 0, so that it never compares
        counters: the use case does, with the reason it records.
        """
        if not isinstance(response, dict):
            raise _rejected("must be an authentication response object")
        try:
            handle = response.get("response", {}).get("userHandle")
            if handle is not None and _b64decode(handle) != user.id.bytes:
                raise _rejected("names another account")
            verified = verify_authentication_response(
                credential=response,
                expected_challenge=challenge,
                expected_rp_id=self.rp_id,
                expected_origin=list(self.origins),
                credential_public_key=passkey.public_key,
                credential_current_sign_count=0,
                require_user_verification=True,
            )
        except PasskeyRejectedError:
            raise
        except (*_REFUSED, binascii.Error) as exc:
            raise _rejected(f"does not verify: {_reason(exc)}") from None
        return VerifiedAssertion(
            sign_count=verified.new_sign_count, backed_up=verified.credential_backed_up
        )


def _reason(exc: BaseException) -> str:
    """The library's own words where it has them; a generic one for a malformed response."""
    if isinstance(exc, WebAuthnException) and str(exc):
        return str(exc)
    return "the response is malformed"
