"""The WebAuthn relying party, built on first use.

py_webauthn (with cbor2, pydantic structs and cryptography) takes longer to
import than the rest of the service; only passkey ceremonies need it, so a
command such as ``usermgmt users list`` never loads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from usermgmt.domain.model import User
from usermgmt.domain.passkeys import NewPasskey, PasskeyCredential, ResponseJSON, VerifiedAssertion

if TYPE_CHECKING:
    from usermgmt.adapters.webauthn import WebAuthnRelyingParty


class LazyRelyingParty:
    """A :class:`~usermgmt.ports.passkeys.PasskeyVerifier` that imports the library when used."""

    def __init__(self, *, rp_id: str, rp_name: str, origins: tuple[str, ...]) -> None:
        """Remember the relying party's id, name and origins."""
        self._rp_id = rp_id
        self._rp_name = rp_name
        self._origins = origins
        self._party: WebAuthnRelyingParty | None = None

    def resolve(self) -> WebAuthnRelyingParty:
        """Return the relying party, importing the library and building it now if need be."""
        if self._party is None:
            from usermgmt.adapters.webauthn import WebAuthnRelyingParty  # noqa: PLC0415 - see the module

            self._party = WebAuthnRelyingParty(
                rp_id=self._rp_id, rp_name=self._rp_name, origins=self._origins
            )
        return self._party

    def registration_options(
        self, *, user: User, challenge: bytes, exclude: Sequence[PasskeyCredential]
    ) -> dict[str, Any]:
        """See ``PasskeyVerifier.registration_options``."""
        return self.resolve().registration_options(user=user, challenge=challenge, exclude=exclude)

    def verify_registration(self, response: ResponseJSON, *, challenge: bytes) -> NewPasskey:
        """See ``PasskeyVerifier.verify_registration``."""
        return self.resolve().verify_registration(response, challenge=challenge)

    def authentication_options(self, *, challenge: bytes) -> dict[str, Any]:
        """See ``PasskeyVerifier.authentication_options``."""
        return self.resolve().authentication_options(challenge=challenge)

    def credential_id(self, response: ResponseJSON) -> bytes | None:
        """See ``PasskeyVerifier.credential_id``."""
        return self.resolve().credential_id(response)

    def verify_authentication(
        self, response: ResponseJSON, *, challenge: bytes, user: User, passkey: PasskeyCredential
    ) -> VerifiedAssertion:
        """See ``PasskeyVerifier.verify_authentication``."""
        return self.resolve().verify_authentication(
            response, challenge=challenge, user=user, passkey=passkey
        )
