"""Several keys: the first signs, every one verifies, and a token's header chooses none of it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from usermgmt import InvalidTokenError, ManualClock, Role
from usermgmt.adapters.tokens import JwtTokenCodec, secret_key_id, thumbprint
from usermgmt.domain.model import AccessClaims, SessionId, TokenId, UserId

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
SECRET_A = b"a" * 32
SECRET_B = b"b" * 32
SECRET_C = b"c" * 32


def _claims() -> AccessClaims:
    return AccessClaims(
        subject=UserId(uuid.uuid4()),
        session_id=SessionId(uuid.uuid4()),
        token_id=TokenId(uuid.uuid4()),
        role=Role.USER,
        issued_at=NOW,
        expires_at=NOW + timedelta(minutes=15),
    )


def _payload(claims: AccessClaims) -> dict[str, object]:
    return {
        "iss": "usermgmt",
        "aud": "usermgmt",
        "sub": str(claims.subject),
        "sid": str(claims.session_id),
        "jti": str(claims.token_id),
        "iat": int(claims.issued_at.timestamp()),
        "exp": int(claims.expires_at.timestamp()),
        "role": "user",
    }


def _pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _hmac_signed(header: dict[str, object], payload: dict[str, object], key: bytes) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


@pytest.fixture
def clock() -> ManualClock:
    """Time stands at NOW."""
    return ManualClock(NOW)


@pytest.fixture
def keys() -> list[Ed25519PrivateKey]:
    """Three fresh Ed25519 keys."""
    return [Ed25519PrivateKey.generate() for _ in range(3)]


def test_the_kid_is_the_rfc_7638_thumbprint() -> None:
    """RFC 8037 appendix A.3: the thumbprint of its Ed25519 example key."""
    d = base64.urlsafe_b64decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=")
    key = Ed25519PrivateKey.from_private_bytes(d)

    kid = thumbprint(key.public_key())

    assert kid == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_the_first_key_signs_and_every_key_verifies(
    clock: ManualClock, keys: list[Ed25519PrivateKey]
) -> None:
    """New tokens carry the first key's kid; tokens of each earlier key still verify."""
    first, *previous = (_pem(k) for k in keys)
    rotated = JwtTokenCodec.eddsa(first, previous=previous, clock=clock)
    claims = _claims()
    old_tokens = [JwtTokenCodec.eddsa(p, clock=clock).encode(claims) for p in previous]

    token = rotated.encode(claims)

    assert jwt.get_unverified_header(token)["kid"] == thumbprint(keys[0].public_key())
    assert [rotated.decode(t) for t in [token, *old_tokens]] == [claims] * 3


def test_the_jwks_lists_every_public_key_signing_key_first(
    clock: ManualClock, keys: list[Ed25519PrivateKey]
) -> None:
    """Each verifying key is published once, with its kid, and never a private part."""
    first, *previous = (_pem(k) for k in keys)
    rotated = JwtTokenCodec.eddsa(first, previous=previous, clock=clock)

    jwks = rotated.jwks()

    assert jwks is not None
    assert [k["kid"] for k in jwks["keys"]] == [thumbprint(k.public_key()) for k in keys]
    assert all(set(k) == {"kty", "crv", "x", "kid", "alg", "use"} for k in jwks["keys"])


def test_a_key_listed_twice_is_published_once(clock: ManualClock) -> None:
    """Listing the signing key again as a verifier changes nothing."""
    pem = _pem(Ed25519PrivateKey.generate())

    jwks = JwtTokenCodec.eddsa(pem, previous=[pem], clock=clock).jwks()

    assert jwks is not None
    assert len(jwks["keys"]) == 1


def test_previous_secrets_verify_but_never_sign(clock: ManualClock) -> None:
    """HS256: tokens of B and C verify under (A, previous B, C); new tokens are A's."""
    rotated = JwtTokenCodec.hs256(SECRET_A, previous=[SECRET_B, SECRET_C], clock=clock)
    claims = _claims()
    old = [JwtTokenCodec.hs256(s, clock=clock).encode(claims) for s in (SECRET_B, SECRET_C)]

    token = rotated.encode(claims)

    assert jwt.get_unverified_header(token)["kid"] == secret_key_id(SECRET_A)
    assert jwt.decode(
        token, SECRET_A, algorithms=["HS256"], options={"verify_aud": False, "verify_exp": False}
    )
    assert [rotated.decode(t) for t in [token, *old]] == [claims] * 3
    assert rotated.jwks() is None


def test_a_retired_secret_no_longer_verifies(clock: ManualClock) -> None:
    """Once B leaves the list, B's tokens are refused."""
    token = JwtTokenCodec.hs256(SECRET_B, clock=clock).encode(_claims())

    with pytest.raises(InvalidTokenError):
        JwtTokenCodec.hs256(SECRET_A, clock=clock).decode(token)


def test_a_secret_kid_reveals_nothing_of_the_secret() -> None:
    """The kid is stable, tells secrets apart, and is no prefix, hash or encoding of the secret."""
    secret = b"s3cr3t-" * 6

    kid = secret_key_id(secret)

    assert kid == secret_key_id(secret)
    assert kid != secret_key_id(secret + b"!")
    assert len(kid) == 16
    for leak in (
        secret.decode(),
        _b64(secret),
        secret.hex(),
        _b64(hashlib.sha256(secret).digest()),
        hashlib.sha256(secret).hexdigest(),
    ):
        assert kid not in leak
        assert leak[:8] not in kid


def test_an_unknown_kid_is_refused_even_when_the_signature_is_good(clock: ManualClock) -> None:
    """A token signed with our secret but naming another key is not ours."""
    codec = JwtTokenCodec.hs256(SECRET_A, clock=clock)
    header = {"alg": "HS256", "typ": "at+jwt", "kid": "someone-elses-key"}

    with pytest.raises(InvalidTokenError):
        codec.decode(_hmac_signed(header, _payload(_claims()), SECRET_A))


@pytest.mark.parametrize("kid", [None, 7, ["x"], {"k": "v"}, ""])
def test_a_kid_of_the_wrong_kind_is_refused(clock: ManualClock, kid: object) -> None:
    """Missing, numeric, list, object or empty kids are refused without other errors."""
    codec = JwtTokenCodec.hs256(SECRET_A, clock=clock)
    header: dict[str, object] = {"alg": "HS256", "typ": "at+jwt"}
    if kid is not None:
        header["kid"] = kid

    with pytest.raises(InvalidTokenError):
        codec.decode(_hmac_signed(header, _payload(_claims()), SECRET_A))


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("jku", "https://attacker.example/jwks.json"),
        ("x5u", "https://attacker.example/cert.pem"),
        ("jwk", {"kty": "oct", "k": _b64(b"attacker" * 4)}),
        ("x5c", ["MIIB"]),
        ("crit", ["exp"]),
        ("crit", []),
        ("cty", "JWT"),
    ],
)
def test_a_header_member_the_codec_never_writes_is_refused(
    clock: ManualClock, member: str, value: object
) -> None:
    """jku, x5u, jwk, x5c and any crit are refused, never followed, even with a good signature."""
    codec = JwtTokenCodec.hs256(SECRET_A, clock=clock)
    header = {"alg": "HS256", "typ": "at+jwt", "kid": secret_key_id(SECRET_A), member: value}

    with pytest.raises(InvalidTokenError):
        codec.decode(_hmac_signed(header, _payload(_claims()), SECRET_A))


def test_an_embedded_jwk_of_the_attackers_key_is_refused(
    clock: ManualClock, keys: list[Ed25519PrivateKey]
) -> None:
    """A token signed by a foreign key that embeds that key (and names ours) is refused."""
    ours = JwtTokenCodec.eddsa(_pem(keys[0]), clock=clock)
    attacker = keys[1]
    raw = attacker.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    headers = {
        "typ": "at+jwt",
        "kid": thumbprint(keys[0].public_key()),
        "jwk": {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw)},
    }

    token = jwt.encode(_payload(_claims()), attacker, algorithm="EdDSA", headers=headers)

    with pytest.raises(InvalidTokenError):
        ours.decode(token)


def test_an_unsigned_token_naming_our_key_is_refused(
    clock: ManualClock, keys: list[Ed25519PrivateKey]
) -> None:
    """An unsigned token (alg none) naming our kid is refused."""
    ours = JwtTokenCodec.eddsa(_pem(keys[0]), clock=clock)
    headers = {"typ": "at+jwt", "kid": thumbprint(keys[0].public_key())}

    token = jwt.encode(_payload(_claims()), None, algorithm="none", headers=headers)

    with pytest.raises(InvalidTokenError):
        ours.decode(token)


@pytest.mark.parametrize("which", [0, 1])
def test_hmac_keyed_with_any_published_public_key_is_refused(
    clock: ManualClock, keys: list[Ed25519PrivateKey], which: int
) -> None:
    """Algorithm confusion: HS256 under a published key (PEM or raw), naming it, is refused."""
    ours = JwtTokenCodec.eddsa(_pem(keys[0]), previous=[_pem(keys[1])], clock=clock)
    public = keys[which].public_key()
    header = {"alg": "HS256", "typ": "at+jwt", "kid": thumbprint(public)}
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    for key in (pem, raw):
        with pytest.raises(InvalidTokenError):
            ours.decode(_hmac_signed(header, _payload(_claims()), key))


@pytest.mark.parametrize("header", ["e30", "W10", "bnVsbA", "!!!!", "eyJhbGciOi" * 60])
def test_a_malformed_header_is_refused_without_other_errors(
    clock: ManualClock, header: str
) -> None:
    """An empty object, a list, null, bad base64 or an oversized header: InvalidTokenError only."""
    codec = JwtTokenCodec.hs256(SECRET_A, clock=clock)

    with pytest.raises(InvalidTokenError):
        codec.decode(f"{header}.e30.c2ln")
