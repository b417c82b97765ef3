"""A software WebAuthn authenticator, a "virtual passkey", for the passkey tests.

`VirtualAuthenticator` plays the two parts a browser and a passkey provider play
in a ceremony: it reads the JSON options a relying party sends
(``PublicKeyCredentialCreationOptions`` or ``PublicKeyCredentialRequestOptions``,
as ``webauthn.options_to_json`` writes them, as text or parsed), makes or uses a
credential, and answers with the JSON a browser's ``PublicKeyCredential.toJSON()``
gives (``RegistrationResponseJSON``, ``AuthenticationResponseJSON``). A test
enrols, then signs in::

    passkey = VirtualAuthenticator()  # the page runs at http://localhost:8000

    begun = api.post(
        "/api/auth/passkeys/register/options",
        json={"current_password": password},
        headers=bearer,
    )
    credential = passkey.create(begun.json()["options"])
    api.post(
        "/api/auth/passkeys/register",
        json={"ceremony_id": begun.json()["ceremony_id"], "credential": credential},
        headers=bearer,
    )

    begun = api.post("/api/auth/passkeys/login/options")
    assertion = passkey.get(begun.json()["options"])
    api.post(
        "/api/auth/passkeys/login",
        json={"ceremony_id": begun.json()["ceremony_id"], "credential": assertion},
    )

Every credential is kept with its private key, its account (the user handle
from the options) and its signature counter, so later calls to `get` sign in
with it; with empty ``allowCredentials`` (a discoverable login, no email asked)
the authenticator offers its discoverable credentials for the RP id.

On the honest path it does what a browser checks before it involves an
authenticator: the RP id must be the page's host or a parent domain of it,
``user.id`` must be 1 to 64 bytes, every base64url field must be unpadded
base64url, a credential listed in ``excludeCredentials`` raises
`InvalidStateError`, no usable algorithm raises `NotSupportedError`, no usable
credential raises `NotAllowedError`. So a relying party that sends options a
browser would refuse fails its own tests here.

Keyword knobs produce what a hostile or broken client sends, which is what the
relying party must refuse; a knob skips the browser's checks, because it
stands for a client that lies:

- ``origin=``: another page's origin in ``clientDataJSON`` (phishing);
- ``rp_id=``: the hash of another RP id in ``authenticatorData``;
- ``challenge=``: another challenge in ``clientDataJSON``;
- ``user_present=False``, ``user_verified=False``: the UP or UV flag off;
- ``attested_credential_data=False`` at `create`: the AT flag off and no
  credential in the authenticator data;
- ``sign_count=``: the counter to report for this one assertion (a counter that
  goes backwards, or stands still), without changing the stored one;
- ``tamper_signature=True``: one bit of the signature flipped (for `create`,
  of the ``packed`` attestation signature);
- ``counting=False`` at `create`: a credential whose counter stays 0, as
  synced passkeys do; ``backup_eligible=``, ``backed_up=``: the BE and BS flags;
- ``cose_key=`` at `create`: these bytes in place of the COSE public key (a
  malformed key, or a point off the curve), while the credential keeps signing
  with its real key.

A replay needs no knob: send the same response twice, or call `get` twice with
the same options (a fresh signature over a spent challenge). A credential the
server does not know is one made by `create` but never sent to it, or one the
server has since deleted.

Where WebAuthn leaves the choice to the authenticator, this one picks: the
first algorithm of ``pubKeyCredParams`` it supports (only ES256 by default,
as the large passkey providers; ``algorithms=`` adds Ed25519); a discoverable
credential unless ``residentKey`` is ``discouraged``; counter 0 at
registration, then +1 per assertion; attestation ``none`` unless
``attestation="packed"`` is asked for (self-attestation, signed with the
credential's own key); the BE and BS flags off (a device-bound passkey) unless
asked; UV done whatever ``userVerification`` says (it can verify, so it does).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
from collections.abc import Mapping
from enum import IntEnum, IntFlag
from typing import Any, Final, Literal, NotRequired, TypedDict
from urllib.parse import urlsplit

import attrs
import cbor2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

DEFAULT_ORIGIN: Final = "http://localhost:8000"
#: The AAGUID this authenticator reports: a fixed value, so a test can recognise it.
AAGUID: Final = bytes.fromhex("7573726d676d742d7669727475616c31")
_BASE64URL: Final = re.compile(r"[A-Za-z0-9_-]*")
_MAX_USER_HANDLE: Final = 64  # bytes, the limit WebAuthn sets on user.id


class Algorithm(IntEnum):
    """The COSE signature algorithms this authenticator can make keys for."""

    ES256 = -7
    EDDSA = -8


class Flags(IntFlag):
    """The flag bits of authenticator data (WebAuthn §6.1)."""

    UP = 0x01  # user present
    UV = 0x04  # user verified
    BE = 0x08  # backup eligible
    BS = 0x10  # backed up
    AT = 0x40  # attested credential data included


class NotAllowedError(Exception):
    """No credential of this authenticator may answer these request options."""


class InvalidStateError(Exception):
    """The options exclude a credential this authenticator already holds for that RP."""


class NotSupportedError(Exception):
    """None of the algorithms the options allow is one this authenticator supports."""


class AuthenticatorAttestationResponseJSON(TypedDict):
    """The ``response`` member of a registration response."""

    clientDataJSON: str
    authenticatorData: str
    transports: list[str]
    publicKey: str
    publicKeyAlgorithm: int
    attestationObject: str


class RegistrationResponseJSON(TypedDict):
    """What ``navigator.credentials.create()`` gives, as ``toJSON()`` writes it."""

    id: str
    rawId: str
    response: AuthenticatorAttestationResponseJSON
    authenticatorAttachment: str
    clientExtensionResults: dict[str, Any]
    type: Literal["public-key"]


class AuthenticatorAssertionResponseJSON(TypedDict):
    """The ``response`` member of an authentication response."""

    clientDataJSON: str
    authenticatorData: str
    signature: str
    userHandle: NotRequired[str]


class AuthenticationResponseJSON(TypedDict):
    """What ``navigator.credentials.get()`` gives, as ``toJSON()`` writes it."""

    id: str
    rawId: str
    response: AuthenticatorAssertionResponseJSON
    authenticatorAttachment: str
    clientExtensionResults: dict[str, Any]
    type: Literal["public-key"]


def b64url(raw: bytes) -> str:
    """Encode *raw* as unpadded base64url, the encoding of every binary WebAuthn JSON member."""
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url strictly, as a browser's ``parse…FromJSON`` does.

    Raises:
        TypeError: *text* has padding or characters outside the base64url alphabet.
    """
    if not _BASE64URL.fullmatch(text):
        raise TypeError(f"not unpadded base64url: {text!r}")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:  # a length of 4n+1 characters
        raise TypeError(f"not base64url: {text!r}") from exc


@attrs.define(kw_only=True)
class Credential:
    """A passkey the authenticator holds: its key pair, its account and its counter."""

    id: bytes
    rp_id: str
    user_handle: bytes
    user_name: str
    algorithm: Algorithm
    discoverable: bool
    counting: bool
    backup_eligible: bool
    backed_up: bool
    sign_count: int = 0
    _private_key: ec.EllipticCurvePrivateKey | Ed25519PrivateKey = attrs.field(repr=False)

    @classmethod
    def generate(cls, algorithm: Algorithm, **fields: Any) -> Credential:
        """Make a credential with a new random id and a new key pair for *algorithm*."""
        key: ec.EllipticCurvePrivateKey | Ed25519PrivateKey = (
            ec.generate_private_key(ec.SECP256R1())
            if algorithm is Algorithm.ES256
            else Ed25519PrivateKey.generate()
        )
        return cls(id=secrets.token_bytes(32), algorithm=algorithm, private_key=key, **fields)

    def cose_public_key(self) -> bytes:
        """The public key as the COSE_Key that authenticator data carries (RFC 9053)."""
        public = self._private_key.public_key()
        if isinstance(public, ec.EllipticCurvePublicKey):
            numbers = public.public_numbers()
            key: dict[int, int | bytes] = {
                1: 2,  # kty: EC2
                3: Algorithm.ES256.value,
                -1: 1,  # crv: P-256
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        else:
            raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            key = {1: 1, 3: Algorithm.EDDSA.value, -1: 6, -2: raw}  # kty OKP, crv Ed25519
        # CTAP2 canonical CBOR, as real authenticators encode it.
        return cbor2.dumps(key, canonical=True)

    def spki_public_key(self) -> bytes:
        """The public key as DER SubjectPublicKeyInfo, the ``publicKey`` member of the JSON."""
        return self._private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, data: bytes) -> bytes:
        """Sign *data*: DER-encoded ECDSA over SHA-256 for ES256, raw Ed25519 for EdDSA."""
        if isinstance(self._private_key, ec.EllipticCurvePrivateKey):
            return self._private_key.sign(data, ec.ECDSA(hashes.SHA256()))
        return self._private_key.sign(data)


@attrs.define(kw_only=True)
class VirtualAuthenticator:
    """A browser and a passkey provider in one: answers creation and request options.

    Args:
        origin: The origin of the page that runs the ceremonies.
        algorithms: The COSE algorithms it can make keys for.
        attachment: ``platform`` (built into the device) or ``cross-platform``.
        transports: The transports it reports at registration.
        aaguid: The 16-byte model identifier it reports.
        credentials: The credentials it holds, newest last.
    """

    origin: str = DEFAULT_ORIGIN
    algorithms: tuple[Algorithm, ...] = (Algorithm.ES256,)
    attachment: Literal["platform", "cross-platform"] = "platform"
    transports: tuple[str, ...] = ("hybrid", "internal")
    aaguid: bytes = AAGUID
    credentials: list[Credential] = attrs.Factory(list)

    def create(
        self,
        options: str | Mapping[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        challenge: bytes | None = None,
        user_present: bool = True,
        user_verified: bool = True,
        attested_credential_data: bool = True,
        attestation: Literal["none", "packed"] = "none",
        counting: bool = True,
        backup_eligible: bool = False,
        backed_up: bool = False,
        tamper_signature: bool = False,
        cose_key: bytes | None = None,
    ) -> RegistrationResponseJSON:
        """Make a credential for *options*, keep it, and answer as ``create()`` does.

        Args:
            options: ``PublicKeyCredentialCreationOptions`` JSON, as text or parsed.
            origin: Report this origin instead of the page's (skips the RP id check).
            rp_id: Hash this RP id into the authenticator data instead of the real one.
            challenge: Report this challenge instead of the one in *options*.
            user_present: Set the UP flag.
            user_verified: Set the UV flag.
            attested_credential_data: Set the AT flag and include the new credential.
            attestation: ``none``, or ``packed`` self-attestation.
            counting: Whether the credential counts its signatures (else they stay 0).
            backup_eligible: Set the BE flag, now and in every assertion.
            backed_up: Set the BS flag, now and in every assertion.
            tamper_signature: Flip a bit of the ``packed`` attestation signature.
            cose_key: Put these bytes where the COSE public key goes.

        Returns:
            The registration response JSON, ready to send to the relying party.

        Raises:
            InvalidStateError: A credential in ``excludeCredentials`` is held here.
            NotSupportedError: No algorithm in ``pubKeyCredParams`` is supported.
            TypeError: The options are not what a browser accepts.
            ValueError: *tamper_signature* with attestation ``none``, which signs nothing.
        """
        if tamper_signature and attestation == "none":
            raise ValueError("attestation none has no signature to tamper with")
        opts = _load(options)
        real_rp_id = self._rp_id(_optional_text(opts["rp"], "id"), origin)
        user = opts["user"]
        user_handle = b64url_decode(_text(user, "id"))
        if not 1 <= len(user_handle) <= _MAX_USER_HANDLE:
            raise TypeError(f"user.id must be 1 to 64 bytes, not {len(user_handle)}")
        excluded = {b64url_decode(_text(d, "id")) for d in opts.get("excludeCredentials", [])}
        if any(c.rp_id == real_rp_id and c.id in excluded for c in self.credentials):
            raise InvalidStateError("a credential in excludeCredentials is already here")
        credential = Credential.generate(
            self._algorithm(opts["pubKeyCredParams"]),
            rp_id=real_rp_id,
            user_handle=user_handle,
            user_name=_text(user, "name"),
            discoverable=_wants_resident_key(opts.get("authenticatorSelection", {})),
            counting=counting,
            backup_eligible=backup_eligible,
            backed_up=backed_up,
        )
        self.credentials.append(credential)

        client_data = self._client_data("webauthn.create", opts, challenge, origin)
        flags = _flags(user_present, user_verified, backup_eligible, backed_up)
        attested = b""
        if attested_credential_data:
            flags |= Flags.AT
            attested = (
                self.aaguid
                + len(credential.id).to_bytes(2, "big")
                + credential.id
                + (credential.cose_public_key() if cose_key is None else cose_key)
            )
        authenticator_data = (
            _authenticator_data(real_rp_id if rp_id is None else rp_id, flags, 0) + attested
        )
        statement: dict[str, int | bytes] = {}
        if attestation == "packed":
            signature = credential.sign(authenticator_data + hashlib.sha256(client_data).digest())
            statement = {
                "alg": credential.algorithm.value,
                "sig": _flipped(signature) if tamper_signature else signature,
            }
        attestation_object = cbor2.dumps(
            {"fmt": attestation, "attStmt": statement, "authData": authenticator_data}
        )
        extensions: dict[str, Any] = {}
        if opts.get("extensions", {}).get("credProps"):
            extensions["credProps"] = {"rk": credential.discoverable}
        return {
            "id": b64url(credential.id),
            "rawId": b64url(credential.id),
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(authenticator_data),
                "transports": sorted(self.transports),  # getTransports() sorts them
                "publicKey": b64url(credential.spki_public_key()),
                "publicKeyAlgorithm": credential.algorithm.value,
                "attestationObject": b64url(attestation_object),
            },
            "authenticatorAttachment": self.attachment,
            "clientExtensionResults": extensions,
            "type": "public-key",
        }

    def get(
        self,
        options: str | Mapping[str, Any],
        *,
        credential_id: bytes | None = None,
        origin: str | None = None,
        rp_id: str | None = None,
        challenge: bytes | None = None,
        user_present: bool = True,
        user_verified: bool = True,
        sign_count: int | None = None,
        tamper_signature: bool = False,
    ) -> AuthenticationResponseJSON:
        """Sign in with a held credential for *options*, and answer as ``get()`` does.

        Args:
            options: ``PublicKeyCredentialRequestOptions`` JSON, as text or parsed.
            credential_id: Which credential to use when several may answer.
            origin: Report this origin instead of the page's (skips the RP id check).
            rp_id: Hash this RP id into the authenticator data instead of the real one.
            challenge: Report this challenge instead of the one in *options*.
            user_present: Set the UP flag.
            user_verified: Set the UV flag.
            sign_count: Report this counter instead of the credential's next one, which
                stays unspent.
            tamper_signature: Flip a bit of the signature.

        Returns:
            The authentication response JSON, ready to send to the relying party.

        Raises:
            NotAllowedError: No held credential may answer (or not the one asked for).
            ValueError: Several may answer and *credential_id* does not choose.
            TypeError: The options are not what a browser accepts.
        """
        opts = _load(options)
        real_rp_id = self._rp_id(_optional_text(opts, "rpId"), origin)
        credential = self._choose(real_rp_id, opts.get("allowCredentials", []), credential_id)
        if credential.counting and sign_count is None:
            credential.sign_count += 1

        client_data = self._client_data("webauthn.get", opts, challenge, origin)
        flags = _flags(
            user_present, user_verified, credential.backup_eligible, credential.backed_up
        )
        count = credential.sign_count if sign_count is None else sign_count
        authenticator_data = _authenticator_data(
            real_rp_id if rp_id is None else rp_id, flags, count
        )
        signature = credential.sign(authenticator_data + hashlib.sha256(client_data).digest())
        response: AuthenticatorAssertionResponseJSON = {
            "clientDataJSON": b64url(client_data),
            "authenticatorData": b64url(authenticator_data),
            "signature": b64url(_flipped(signature) if tamper_signature else signature),
        }
        if credential.discoverable:
            response["userHandle"] = b64url(credential.user_handle)
        return {
            "id": b64url(credential.id),
            "rawId": b64url(credential.id),
            "response": response,
            "authenticatorAttachment": self.attachment,
            "clientExtensionResults": {},
            "type": "public-key",
        }

    def _rp_id(self, rp_id: str | None, origin: str | None) -> str:
        """The RP id of a ceremony: the options' own, else the page's host, as browsers do."""
        host = urlsplit(self.origin if origin is None else origin).hostname or ""
        if rp_id is None:
            return host
        # A browser refuses an RP id that is not the page's host or a parent domain of it;
        # an origin= knob stands for a client that does not check.
        if origin is None and host != rp_id and not host.endswith(f".{rp_id}"):
            raise TypeError(f"RP id {rp_id!r} is not {host!r} or a parent domain of it")
        return rp_id

    def _algorithm(self, parameters: list[Mapping[str, Any]]) -> Algorithm:
        for parameter in parameters:
            if parameter.get("type") == "public-key" and parameter.get("alg") in self.algorithms:
                return Algorithm(parameter["alg"])
        raise NotSupportedError(f"none of {parameters} is one of {self.algorithms}")

    def _choose(
        self, rp_id: str, allowed: list[Mapping[str, Any]], credential_id: bytes | None
    ) -> Credential:
        allowed_ids = {b64url_decode(_text(d, "id")) for d in allowed}
        candidates = [
            c
            for c in self.credentials
            if c.rp_id == rp_id and (c.id in allowed_ids if allowed_ids else c.discoverable)
        ]
        if credential_id is not None:
            candidates = [c for c in candidates if c.id == credential_id]
        if not candidates:
            raise NotAllowedError(f"no credential here may answer for {rp_id!r}")
        if len(candidates) > 1:
            raise ValueError(f"{len(candidates)} credentials may answer: pass credential_id")
        return candidates[0]

    def _client_data(
        self,
        kind: str,
        options: Mapping[str, Any],
        challenge: bytes | None,
        origin: str | None,
    ) -> bytes:
        if challenge is None:
            challenge = b64url_decode(_text(options, "challenge"))
        # The members in the order the spec's serialization fixes (§5.8.1.1).
        collected = {
            "type": kind,
            "challenge": b64url(challenge),
            "origin": self.origin if origin is None else origin,
            "crossOrigin": False,
        }
        return json.dumps(collected, separators=(",", ":")).encode()


def _load(options: str | Mapping[str, Any]) -> Mapping[str, Any]:
    loaded = json.loads(options) if isinstance(options, str) else options
    if not isinstance(loaded, Mapping):
        raise TypeError(f"options must be a JSON object, not {type(loaded).__name__}")
    return loaded


def _text(mapping: Mapping[str, Any], key: str) -> str:
    value = mapping[key]
    if not isinstance(value, str):
        raise TypeError(f"{key} must be a string, not {value!r}")
    return value


def _optional_text(mapping: Mapping[str, Any], key: str) -> str | None:
    return _text(mapping, key) if key in mapping else None


def _wants_resident_key(selection: Mapping[str, Any]) -> bool:
    resident_key = selection.get("residentKey")
    if resident_key is None:
        return selection.get("requireResidentKey") is True
    return bool(resident_key != "discouraged")


def _flags(
    user_present: bool, user_verified: bool, backup_eligible: bool, backed_up: bool
) -> Flags:
    flags = Flags(0)
    for flag, wanted in (
        (Flags.UP, user_present),
        (Flags.UV, user_verified),
        (Flags.BE, backup_eligible),
        (Flags.BS, backed_up),
    ):
        if wanted:
            flags |= flag
    return flags


def _authenticator_data(rp_id: str, flags: Flags, sign_count: int) -> bytes:
    return hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + sign_count.to_bytes(4, "big")


def _flipped(signature: bytes) -> bytes:
    return signature[:-1] + bytes([signature[-1] ^ 0x01])
