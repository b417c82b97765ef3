"""Access tokens: what the JWT codec signs, and every forgery it refuses (RFC 8725)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta

import attrs
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from usermgmt import InvalidTokenError, ManualClock, Role
from usermgmt.adapters.tokens import JwtTokenCodec, secret_key_id
from usermgmt.domain.model import AccessClaims, SessionId, TokenId, UserId

SECRET = b"k" * 64  # long enough for HS512 too, so forging it raises no key warning
NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
KID = secret_key_id(SECRET)
OURS = {"typ": "at+jwt", "kid": KID}  # the header of a token the codec signed


def _claims(**changes: object) -> AccessClaims:
    values: dict[str, object] = {
        "subject": UserId(uuid.uuid4()),
        "session_id": SessionId(uuid.uuid4()),
        "token_id": TokenId(uuid.uuid4()),
        "role": Role.USER,
        "issued_at": NOW,
        "expires_at": NOW + timedelta(minutes=15),
    }
    values.update(changes)
    return AccessClaims(**values)  # type: ignore[arg-type]  # test data


def _pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.fixture
def clock() -> ManualClock:
    """Time stands at NOW."""
    return ManualClock(NOW)


@pytest.fixture
def codec(clock: ManualClock) -> JwtTokenCodec:
    """An HS256 codec on the manual clock."""
    return JwtTokenCodec.hs256(SECRET, clock=clock)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _hand_signed(header: dict[str, str], payload: dict[str, object], key: bytes) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _payload(claims: AccessClaims, **changes: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "iss": "usermgmt",
        "aud": "usermgmt",
        "sub": str(claims.subject),
        "sid": str(claims.session_id),
        "jti": str(claims.token_id),
        "iat": int(claims.issued_at.timestamp()),
        "exp": int(claims.expires_at.timestamp()),
        "role": "user",
    }
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not None}


def test_a_token_carries_every_claim_of_the_contract(codec: JwtTokenCodec) -> None:
    """iss, aud, sub, sid, jti, iat, exp, role and amr are all present, typed at+jwt."""
    claims = _claims()

    token = codec.encode(claims)

    header = jwt.get_unverified_header(token)
    payload = jwt.decode(token, options={"verify_signature": False})
    assert header == {"alg": "HS256", "typ": "at+jwt", "kid": KID}
    assert set(payload) == {"iss", "aud", "sub", "sid", "jti", "iat", "exp", "role", "amr"}
    assert payload["amr"] == ["pwd"]
    assert codec.decode(token) == claims


def test_the_amr_claim_says_how_the_session_signed_in(codec: JwtTokenCodec) -> None:
    """A second factor's ``amr`` round-trips; a token without one (an older release's) is pwd."""
    claims = attrs.evolve(_claims(), amr=("pwd", "otp"))
    assert codec.decode(codec.encode(claims)) == claims

    older = jwt.encode(_payload(_claims()), SECRET, algorithm="HS256", headers=OURS)
    assert codec.decode(older).amr == ("pwd",)
    forged = {**_payload(_claims()), "amr": "pwd otp"}
    with pytest.raises(InvalidTokenError):
        codec.decode(jwt.encode(forged, SECRET, algorithm="HS256", headers=OURS))


def test_a_token_made_outside_the_codec_like_its_own_is_accepted(codec: JwtTokenCodec) -> None:
    """The forgeries below differ from this accepted token in one thing each."""
    claims = _claims()

    token = jwt.encode(_payload(claims), SECRET, algorithm="HS256", headers=OURS)

    assert codec.decode(token) == claims


def test_none_algorithm_is_refused(codec: JwtTokenCodec) -> None:
    """An unsigned token (alg none) never validates."""
    token = jwt.encode(_payload(_claims()), None, algorithm="none", headers=OURS)

    with pytest.raises(InvalidTokenError):
        codec.decode(token)


def test_another_algorithm_with_the_same_key_is_refused(codec: JwtTokenCodec) -> None:
    """The algorithm is pinned: HS512 under the right key is still refused."""
    token = jwt.encode(_payload(_claims()), SECRET, algorithm="HS512", headers=OURS)

    with pytest.raises(InvalidTokenError):
        codec.decode(token)


def test_hmac_signed_with_the_public_key_is_refused(clock: ManualClock) -> None:
    """No key confusion: an HS256 token keyed with the EdDSA public key is refused."""
    private = Ed25519PrivateKey.generate()
    codec = JwtTokenCodec.eddsa(_pem(private), clock=clock)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwks = codec.jwks()
    assert jwks is not None
    header = {"alg": "HS256", "typ": "at+jwt", "kid": jwks["keys"][0]["kid"]}
    token = _hand_signed(header, _payload(_claims()), public_pem)  # PyJWT itself refuses to

    with pytest.raises(InvalidTokenError):
        codec.decode(token)


def test_eddsa_tokens_round_trip_and_publish_their_key(clock: ManualClock) -> None:
    """An Ed25519 codec signs with EdDSA, names its key, and serves it as a JWK."""
    codec = JwtTokenCodec.eddsa(_pem(Ed25519PrivateKey.generate()), clock=clock)
    claims = _claims()

    token = codec.encode(claims)

    jwks = codec.jwks()
    assert jwks is not None
    (key,) = jwks["keys"]
    assert jwt.get_unverified_header(token) == {"alg": "EdDSA", "typ": "at+jwt", "kid": key["kid"]}
    assert (key["kty"], key["crv"], key["alg"]) == ("OKP", "Ed25519", "EdDSA")
    assert codec.decode(token) == claims
    assert JwtTokenCodec.hs256(SECRET).jwks() is None


def test_a_token_from_another_key_is_refused(clock: ManualClock) -> None:
    """Another Ed25519 key (another kid) does not verify."""
    ours = JwtTokenCodec.eddsa(_pem(Ed25519PrivateKey.generate()), clock=clock)
    theirs = JwtTokenCodec.eddsa(_pem(Ed25519PrivateKey.generate()), clock=clock)

    with pytest.raises(InvalidTokenError):
        ours.decode(theirs.encode(_claims()))


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "someone-else"},
        {"aud": "another-api"},
        {"sub": "not-a-uuid"},
        {"role": "root"},
        {"sid": None},
        {"exp": "soon"},
    ],
)
def test_wrong_or_missing_claims_are_refused(
    codec: JwtTokenCodec, changes: dict[str, object]
) -> None:
    """Wrong issuer or audience, malformed or missing claims: refused."""
    token = jwt.encode(_payload(_claims(), **changes), SECRET, algorithm="HS256", headers=OURS)

    with pytest.raises(InvalidTokenError):
        codec.decode(token)


def test_a_token_of_another_type_is_refused(codec: JwtTokenCodec) -> None:
    """A correctly signed JWT that is not typed at+jwt is not an access token."""
    token = jwt.encode(
        _payload(_claims()), SECRET, algorithm="HS256", headers={"typ": "JWT", "kid": KID}
    )

    with pytest.raises(InvalidTokenError):
        codec.decode(token)


def test_tampering_breaks_the_signature(codec: JwtTokenCodec) -> None:
    """Changing the payload (say, the role) invalidates the token."""
    header, payload, signature = codec.encode(_claims()).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "admin"
    forged = _b64(json.dumps(claims).encode())

    with pytest.raises(InvalidTokenError):
        codec.decode(f"{header}.{forged}.{signature}")


def test_expired_and_future_tokens_are_refused(codec: JwtTokenCodec, clock: ManualClock) -> None:
    """An exp in the past or an nbf in the future is refused, by the injected clock."""
    token = codec.encode(_claims())
    future = jwt.encode(
        _payload(_claims(), nbf=int((NOW + timedelta(minutes=5)).timestamp())),
        SECRET,
        algorithm="HS256",
        headers=OURS,
    )

    with pytest.raises(InvalidTokenError):
        codec.decode(future)
    clock.advance(timedelta(minutes=15))
    with pytest.raises(InvalidTokenError):
        codec.decode(token)


@pytest.mark.parametrize(
    "garbage", ["", "abc", "a.b.c", "Bearer x", "eyJhbGciOiJIUzI1NiJ9..", "é" * 10]
)
def test_garbage_is_refused_without_other_errors(codec: JwtTokenCodec, garbage: str) -> None:
    """Anything that is not a token raises InvalidTokenError and nothing else."""
    with pytest.raises(InvalidTokenError):
        codec.decode(garbage)


def test_a_non_ed25519_key_is_refused() -> None:
    """EdDSA mode needs an Ed25519 key; other PEMs are a ValueError."""
    other = X25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )

    with pytest.raises(ValueError, match="not an Ed25519"):
        JwtTokenCodec.eddsa(other)


# The cache of verified tokens: it may skip a signature check, never a refusal.


def test_a_remembered_token_is_refused_once_it_expires(
    codec: JwtTokenCodec, clock: ManualClock
) -> None:
    """Expiry is checked on every request, from the cache as much as after a verification."""
    claims = _claims()
    token = codec.encode(claims)
    assert codec.decode(token) == claims
    assert codec.decode(token) == claims  # the second time from the cache
    clock.advance(timedelta(minutes=15))
    with pytest.raises(InvalidTokenError):
        codec.decode(token)


def test_a_token_not_yet_valid_is_not_remembered_as_valid(clock: ManualClock) -> None:
    """A token refused for its times is not remembered, and is judged afresh each time."""
    codec = JwtTokenCodec.hs256(SECRET, clock=clock)
    not_before = int((NOW + timedelta(minutes=5)).timestamp())
    early = _hand_signed(OURS | {"alg": "HS256"}, _payload(_claims(), nbf=not_before), SECRET)
    with pytest.raises(InvalidTokenError):
        codec.decode(early)
    with pytest.raises(InvalidTokenError):
        codec.decode(early)  # still refused: a refusal is never remembered as a success
    clock.advance(timedelta(minutes=5))
    assert codec.decode(early).subject  # and it is accepted once its time has come


def test_a_near_copy_of_a_remembered_token_is_still_verified(codec: JwtTokenCodec) -> None:
    """Only the exact string that verified hits: a changed payload or another string is checked."""
    token = codec.encode(_claims())
    codec.decode(token)
    head, _, signature = token.split(".")
    forged = _payload(_claims(role=Role.ADMIN))
    forged_payload = _b64(json.dumps(forged).encode())
    for near in (f"{head}.{forged_payload}.{signature}", token + "A", token[:-1]):
        with pytest.raises(InvalidTokenError):
            codec.decode(near)


def test_the_cache_stays_within_its_bound(clock: ManualClock) -> None:
    """However many tokens come, the cache holds at most its size, and evicted ones still verify."""
    codec = JwtTokenCodec.hs256(SECRET, clock=clock, verified_cache_size=8)
    tokens = [codec.encode(_claims()) for _ in range(50)]
    for token in tokens:
        codec.decode(token)
        assert len(codec._verified) <= 8
    assert all(codec.decode(token) for token in tokens)  # evicted tokens verify again


def test_a_codec_with_new_keys_remembers_nothing_of_the_old_ones(clock: ManualClock) -> None:
    """New keys mean a new codec and an empty cache: a token of a retired key is refused."""
    old = JwtTokenCodec.hs256(SECRET, clock=clock)
    token = old.encode(_claims())
    old.decode(token)
    rotated_out = JwtTokenCodec.hs256(b"n" * 64, clock=clock)  # the old secret no longer verifies
    with pytest.raises(InvalidTokenError):
        rotated_out.decode(token)
