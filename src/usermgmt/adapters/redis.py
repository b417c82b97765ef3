"""Failed-login counters in Redis, for deployments that set ``USERMGMT_REDIS_URL``.

All counters of one account live in one hash (fields ``<counter>:f`` for the
failures, ``:t`` for the last failure and ``:p`` for the one before, in
microseconds since the epoch), so that every operation is one command or one
Lua script on one key: atomic, and on one slot of a cluster. The hash expires
once the account has had no failure for the schedule's memory. Every key starts
with the store's prefix, so that several services (or test runs) can share one
Redis database without touching each other's keys.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from usermgmt.domain.errors import UnavailableError
from usermgmt.domain.rules.throttle import FailureRecord, LoginAttempt, Reservation

KEY_PREFIX: Final = "usermgmt:login-throttle:"
"""The prefix of every key the store writes, unless it is given another."""
POOL_SIZE: Final = 50
"""Connections to Redis per process; more logins at once wait for one."""
POOL_TIMEOUT: Final = 3
"""Seconds a login waits for a free connection before it is answered as unavailable."""
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)

# ARGV: now, stale_before, ttl, n, then n times (counter, threshold), then the lock durations.
# Times travel and are stored as the strings they came as: Lua would print a number of
# microseconds with 14 digits and lose the last ones. Past 768 fields (256 counters), the
# forgotten counters of the account are dropped from its hash.
_RESERVE: Final = """
local now, stale_before = tonumber(ARGV[1]), tonumber(ARGV[2])
local ttl, n = tonumber(ARGV[3]), tonumber(ARGV[4])
local locks = {}
for i = 5 + 2 * n, #ARGV do locks[#locks + 1] = tonumber(ARGV[i]) end
local found, locked = {}, false
for i = 1, n do
    local id, threshold = ARGV[3 + 2 * i], tonumber(ARGV[4 + 2 * i])
    local fields = redis.call('HMGET', KEYS[1], id .. ':f', id .. ':t')
    local failures, last = tonumber(fields[1] or '0'), fields[2] or '0'
    found[i] = {id, failures, last}
    local at = tonumber(last)
    if threshold > 0 and failures >= threshold and at >= stale_before then
        if at + locks[math.min(failures - threshold + 1, #locks)] > now then locked = true end
    end
end
local out = {locked and 0 or 1}
for i = 1, n do
    local id, failures, last = found[i][1], found[i][2], found[i][3]
    if not locked then
        if tonumber(last) < stale_before then failures = 1 else failures = failures + 1 end
        redis.call('HSET', KEYS[1], id .. ':f', tostring(failures), id .. ':t', ARGV[1],
                   id .. ':p', last)
        last = ARGV[1]
    end
    out[#out + 1] = tostring(failures)
    out[#out + 1] = last
end
if not locked then
    if redis.call('HLEN', KEYS[1]) > 768 then
        local all = redis.call('HGETALL', KEYS[1])
        for j = 1, #all, 2 do
            local field, value = all[j], all[j + 1]
            if string.sub(field, -2) == ':t' and tonumber(value) < stale_before then
                local id = string.sub(field, 1, -3)
                redis.call('HDEL', KEYS[1], id .. ':f', id .. ':t', id .. ':p')
            end
        end
    end
    redis.call('EXPIRE', KEYS[1], ttl)
end
return out
"""
# ARGV: reserved_at, then the counters.
_RELEASE: Final = """
for i = 2, #ARGV do
    local id = ARGV[i]
    local fields = redis.call('HMGET', KEYS[1], id .. ':f', id .. ':t', id .. ':p')
    if fields[1] then
        local failures = math.max(tonumber(fields[1]) - 1, 0)
        redis.call('HSET', KEYS[1], id .. ':f', tostring(failures))
        if fields[2] == ARGV[1] then
            if fields[3] then redis.call('HSET', KEYS[1], id .. ':t', fields[3]) end
            redis.call('HDEL', KEYS[1], id .. ':p')
        end
    end
end
return 1
"""


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


class RedisLoginAttemptStore:
    """Counters as one Redis hash per account, expiring by themselves once stale."""

    def __init__(self, client: Redis, *, key_prefix: str = KEY_PREFIX) -> None:
        """Use *client*, with keys that start with *key_prefix*."""
        self._redis = client
        self._prefix = key_prefix
        self._reserve = client.register_script(_RESERVE)
        self._release = client.register_script(_RELEASE)

    @classmethod
    def from_url(cls, url: str, *, key_prefix: str = KEY_PREFIX) -> RedisLoginAttemptStore:
        """Connect to the Redis at *url* through a pool that makes a burst wait, not fail.

        redis-py's default pool refuses the 101st concurrent command outright;
        a burst of logins must queue for a connection instead.
        """
        pool = BlockingConnectionPool.from_url(url, max_connections=POOL_SIZE, timeout=POOL_TIMEOUT)
        # The client owns the pool: aclose() closes it.
        return cls(Redis.from_pool(pool), key_prefix=key_prefix)

    async def reserve(self, attempt: LoginAttempt, now: datetime) -> Reservation:
        """Admit and count *attempt*, or refuse it, in one script (see the port)."""
        schedule = attempt.schedule
        args: list[str | int] = [
            _micros(now),
            _micros(schedule.stale_before(now)),
            max(1, int(schedule.forget_after.total_seconds())),
            len(attempt.counters),
        ]
        for counter in attempt.counters:
            args += [counter.key, counter.threshold]
        args += [lock // _MICROSECOND for lock in schedule.locks]
        try:
            out = await self._reserve(keys=[self._prefix + attempt.account], args=args)
        except RedisError as exc:
            raise UnavailableError from exc
        records = tuple(_record(int(out[i]), int(out[i + 1])) for i in range(1, len(out), 2))
        return Reservation(admitted=int(out[0]) == 1, records=records)

    async def release(self, attempt: LoginAttempt, reserved_at: datetime) -> None:
        """Take back one reserved failure under each counter of *attempt*."""
        args: list[str | int] = [_micros(reserved_at), *(c.key for c in attempt.counters)]
        try:
            await self._release(keys=[self._prefix + attempt.account], args=args)
        except RedisError as exc:
            raise UnavailableError from exc

    async def clear(self, attempt: LoginAttempt) -> None:
        """Forget the counters of *attempt*."""
        fields = [f"{c.key}:{part}" for c in attempt.counters for part in "ftp"]
        try:
            await self._redis.hdel(self._prefix + attempt.account, *fields)
        except RedisError as exc:
            raise UnavailableError from exc

    async def clear_account(self, account: str) -> None:
        """Forget every counter of *account*: its hash."""
        try:
            await self._redis.delete(self._prefix + account)
        except RedisError as exc:
            raise UnavailableError from exc

    async def purge(self, before: datetime) -> int:
        """Nothing to do: Redis expires stale counters by itself."""
        del before
        return 0

    async def aclose(self) -> None:
        """Close the connections to Redis."""
        await self._redis.aclose()


def _record(failures: int, last: int) -> FailureRecord | None:
    if failures == 0:
        return None
    return FailureRecord(
        failures=failures,
        last_failure_at=_EPOCH + last * _MICROSECOND,
    )
