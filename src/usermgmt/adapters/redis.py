"""Failed-login counters in Redis, for deployments that set ``USERMGMT_REDIS_URL``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from usermgmt.domain.errors import UnavailableError
from usermgmt.domain.policy import FailureRecord, ThrottleKeys

_PREFIX: Final = "usermgmt:login-failures:"
POOL_SIZE: Final = 50
"""Connections to Redis per process; more logins at once wait for one."""
POOL_TIMEOUT: Final = 3
"""Seconds a login waits for a free connection before it is answered as unavailable."""
# Atomic per key: start again from one when the last failure is older than the cut-off.
_RECORD: Final = """
local now, stale_before, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
for _, key in ipairs(KEYS) do
    local last = tonumber(redis.call('HGET', key, 'last') or '0')
    if last < stale_before then
        redis.call('HSET', key, 'failures', 1, 'last', now)
    else
        redis.call('HINCRBY', key, 'failures', 1)
        redis.call('HSET', key, 'last', now)
    end
    redis.call('EXPIRE', key, ttl)
end
return 1
"""


def _micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


class RedisLoginAttemptStore:
    """Counters as Redis hashes that expire by themselves once stale."""

    def __init__(self, client: Redis, *, forget_after: timedelta = timedelta(hours=24)) -> None:
        """Use *client*; keys live *forget_after* past their last failure."""
        self._redis = client
        self._ttl = int(forget_after.total_seconds())
        self._record = client.register_script(_RECORD)

    @classmethod
    def from_url(cls, url: str) -> RedisLoginAttemptStore:
        """Connect to the Redis at *url* through a pool that makes a burst wait, not fail.

        redis-py's default pool refuses the 101st concurrent command outright;
        a burst of logins must queue for a connection instead.
        """
        pool = BlockingConnectionPool.from_url(url, max_connections=POOL_SIZE, timeout=POOL_TIMEOUT)
        return cls(Redis.from_pool(pool))  # the client owns the pool: aclose() closes it

    async def get(self, keys: ThrottleKeys) -> tuple[FailureRecord | None, FailureRecord | None]:
        """Return the pair and account records."""
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in (keys.pair, keys.account):
                    pipe.hmget(_PREFIX + key, "failures", "last")
                pair, account = await pipe.execute()
        except RedisError as exc:
            raise UnavailableError from exc
        return _record(pair), _record(account)

    async def record_failure(
        self, keys: ThrottleKeys, now: datetime, *, stale_before: datetime
    ) -> None:
        """Count one more failure under both keys, atomically."""
        try:
            await self._record(
                keys=[_PREFIX + keys.pair, _PREFIX + keys.account],
                args=[_micros(now), _micros(stale_before), self._ttl],
            )
        except RedisError as exc:
            raise UnavailableError from exc

    async def clear(self, keys: ThrottleKeys) -> None:
        """Forget both counters."""
        try:
            await self._redis.delete(_PREFIX + keys.pair, _PREFIX + keys.account)
        except RedisError as exc:
            raise UnavailableError from exc

    async def purge(self, before: datetime) -> int:
        """Nothing to do: Redis expires stale counters by itself."""
        del before
        return 0

    async def aclose(self) -> None:
        """Close the connections to Redis."""
        await self._redis.aclose()


def _record(fields: list[bytes | None]) -> FailureRecord | None:
    failures, last = fields
    if failures is None or last is None:
        return None
    return FailureRecord(
        failures=int(failures),
        last_failure_at=datetime.fromtimestamp(int(last) / 1_000_000, UTC),
    )
