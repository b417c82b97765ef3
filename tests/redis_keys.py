"""Each Redis test in a corner of its own: a unique key prefix, and exactly its keys removed.

The test Redis may be shared with other test runs (or with a developer's own
keys), so a test never deletes by usermgmt's ordinary prefixes: it makes its
service write under a prefix no one else uses, and removes what is under it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import pytest
import redis

REDIS_URL: Final = "redis://127.0.0.1:6379/15"


@contextmanager
def confined_keys(url: str = REDIS_URL) -> Iterator[str]:
    """Yield a key prefix unique to the caller; delete every key under it at the end.

    Skips the test when no Redis answers at *url*.
    """
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        client.close()
        pytest.skip(f"no Redis at {url}: {exc}")
    prefix = f"usermgmt-test-{uuid.uuid4().hex}:"  # hex digits: nothing a MATCH pattern reads
    try:
        yield prefix
    finally:
        try:
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()
