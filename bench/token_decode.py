"""Time JwtTokenCodec.decode, the check every authenticated request makes, in microseconds.

    .venv/bin/python bench/token_decode.py [--baseline REV] [--rounds 15] [--number 5000]

Cases: HS256 and EdDSA with one key, and with three keys where the token was
signed by the last one (a rotation in progress). With ``--baseline REV`` the
codec of that git revision (``src/usermgmt/adapters/tokens.py``) is timed in
the same process, its rounds interleaved with this tree's, so that load on
the machine hits both alike; cases it cannot build (several keys, before
rotation existed) are left out. A codec that remembers verified tokens (since
085bbdf) is timed twice: as a request with a token it has seen meets it (the
same token again: a lookup), and with its cache off, as a token's first
request does (the signature checked). Prints the minimum and the median CPU
time per decode.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from usermgmt import Role
from usermgmt.adapters import tokens
from usermgmt.domain.model import AccessClaims, SessionId, TokenId, UserId

ROOT = Path(__file__).resolve().parents[1]
SECRETS = (b"k" * 32, b"p" * 32, b"o" * 32)


def _pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _baseline(revision: str) -> ModuleType:
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{revision}:src/usermgmt/adapters/tokens.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "baseline_tokens.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("baseline_tokens", path)
    if spec is None or spec.loader is None:
        sys.exit(f"cannot load the codec of {revision}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cases(module: ModuleType, label: str, keys: list[bytes]) -> dict[str, tuple[Any, Any]]:
    codec = module.JwtTokenCodec
    cases = {
        f"HS256, 1 secret ({label})": (codec.hs256(SECRETS[0]),) * 2,
        f"EdDSA, 1 key ({label})": (codec.eddsa(keys[0]),) * 2,
    }
    try:
        cases[f"HS256, 3 secrets, token of the 3rd ({label})"] = (
            codec.hs256(SECRETS[0], previous=list(SECRETS[1:])),
            codec.hs256(SECRETS[2]),
        )
        cases[f"EdDSA, 3 keys, token of the 3rd ({label})"] = (
            codec.eddsa(keys[0], previous=keys[1:]),
            codec.eddsa(keys[2]),
        )
    except TypeError:
        pass  # a codec from before key rotation takes one key only
    if hasattr(module, "VERIFIED_CACHE_SIZE"):
        for name, (verifier, signer) in list(cases.items()):
            first_sight = copy.copy(verifier)
            first_sight._verified = {}  # noqa: SLF001 - a cache of its own, and kept empty:
            first_sight._verified_cache_size = 0  # noqa: SLF001 - so every decode verifies
            cases[name.replace(f"({label})", f"({label}, first sight)")] = (first_sight, signer)
    return cases


def main() -> None:
    """Run the rounds and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="a git revision to compare with, in the same run")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--number", type=int, default=5000, help="decodes per round and case")
    options = parser.parse_args()

    now = datetime.now(UTC).replace(microsecond=0)
    claims = AccessClaims(
        subject=UserId(uuid.uuid4()),
        session_id=SessionId(uuid.uuid4()),
        token_id=TokenId(uuid.uuid4()),
        role=Role.USER,
        issued_at=now,
        expires_at=now + timedelta(minutes=15),
    )
    keys = [_pem() for _ in range(3)]
    cases = {}
    if options.baseline:
        cases |= _cases(_baseline(options.baseline), options.baseline, keys)
    cases |= _cases(tokens, "this tree", keys)

    runs: dict[str, tuple[Callable[[], object], list[float]]] = {}
    for name, (verifier, signer) in cases.items():
        token = signer.encode(claims)
        if verifier.decode(token) != claims:
            sys.exit(f"{name}: the token does not decode to its claims")
        runs[name] = (lambda v=verifier, t=token: v.decode(t), [])
    for _ in range(options.rounds):
        for decode, samples in runs.values():
            # CPU time of this process: on a shared machine, wall time mostly measures the others.
            elapsed = timeit.Timer(decode, timer=time.process_time).timeit(number=options.number)
            samples.append(elapsed / options.number * 1e6)
    width = max(map(len, runs))
    print(f"{'case':{width}}  min µs  median µs")
    for name, (_, samples) in runs.items():
        print(f"{name:{width}}  {min(samples):6.1f}  {statistics.median(samples):9.1f}")


if __name__ == "__main__":
    main()
