"""Load generation: wrk for throughput scenarios, a plain sequential client for latency.

wrk runs with one thread (so it never takes more than one of the two cores)
and a generated Lua script that sets each request and prints its summary as
one JSON line. Its own CPU time is measured (``wait4``) and reported, so a
reader can check that the load generator was not the bottleneck.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Final

from systems import HOST

WRK_TIMEOUT: Final = "10s"
"""A request slower than this counts as a timeout (and its latency is not recorded)."""

_DONE: Final = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d, "p50_us": %.0f, "p90_us": %.0f, ' ..
    '"p99_us": %.0f, "max_us": %.0f, "mean_us": %.0f}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
"""


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal here


def reads_script(path: str, tokens: list[str]) -> str:
    """Lua for GET *path* with a bearer token, cycling through *tokens*."""
    listed = ", ".join(_lua_string(t) for t in tokens)
    return f"""
local tokens = {{{listed}}}
local i = 0
request = function()
  i = i + 1
  local headers = {{["Authorization"] = "Bearer " .. tokens[(i % #tokens) + 1]}}
  return wrk.format("GET", {_lua_string(path)}, headers)
end
{_DONE}"""


def posts_script(path: str, content_type: str, template: str, first: int, count: int) -> str:
    """Lua for POST *path* with *template*'s ``{n}`` set to first, first+1, ... (mod *count*)."""
    head, tail = template.split("{n}")
    return f"""
local n = 0
local headers = {{["Content-Type"] = {_lua_string(content_type)}}}
request = function()
  local k = {first} + (n % {count})
  n = n + 1
  return wrk.format("POST", {_lua_string(path)}, headers,
                    {_lua_string(head)} .. k .. {_lua_string(tail)})
end
{_DONE}"""


class Wrk:
    """One wrk process, started now, collected with :meth:`result`."""

    def __init__(self, port: int, script: str, *, connections: int, seconds: float) -> None:
        """Start wrk against 127.0.0.1:*port* with *script* (Lua source)."""
        handle, name = tempfile.mkstemp(suffix=".lua", prefix="bench-")
        with os.fdopen(handle, "w") as f:
            f.write(script)
        self._script = Path(name)
        self.command = [
            *("wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", WRK_TIMEOUT),
            *("-s", name, f"http://{HOST}:{port}"),
        ]
        self._started = time.monotonic()
        self._proc = subprocess.Popen(
            self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def result(self) -> dict[str, float]:
        """Wait for wrk; return its summary, requests/s of 2xx answers, and its CPU share."""
        _, status, usage = os.wait4(self._proc.pid, 0)
        wall = time.monotonic() - self._started
        output = self._proc.stdout.read() if self._proc.stdout else ""
        self._proc.returncode = os.waitstatus_to_exitcode(status)
        self._script.unlink(missing_ok=True)
        line = next((ln for ln in output.splitlines() if ln.startswith("BENCH_JSON ")), None)
        if line is None:
            msg = f"wrk printed no summary: {output}"
            raise RuntimeError(msg)
        data: dict[str, float] = json.loads(line.removeprefix("BENCH_JSON "))
        seconds = data["duration_us"] / 1e6
        ok = data["requests"] - data["status"]
        data["ok_per_s"] = ok / seconds
        data["errors"] = sum(data[k] for k in ("connect", "read", "write", "status", "timeout"))
        data["wrk_cpu_share"] = (usage.ru_utime + usage.ru_stime) / wall
        return data


def sequential(port: int, path: str, token: str, *, seconds: float, at_most: int) -> dict:
    """Time GET *path* one request at a time (one keep-alive connection, no queueing).

    Runs for *seconds* or *at_most* requests, whichever comes first, but at least
    five; returns p50/p99 in milliseconds and the number of samples.
    """
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    headers = {"Authorization": f"Bearer {token}"}
    samples: list[float] = []
    statuses: set[int] = set()
    deadline = time.monotonic() + seconds

    def once() -> float:
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        statuses.add(response.status)
        return (time.perf_counter() - started) * 1000

    once()  # warm: a first page may read cold blocks
    while len(samples) < at_most and (len(samples) < 5 or time.monotonic() < deadline):
        samples.append(once())
    conn.close()
    samples.sort()
    p99 = samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))]
    return {
        "p50_ms": statistics.median(samples),
        "p99_ms": p99,
        "samples": len(samples),
        "statuses": sorted(statuses),
    }


def request_json(port: int, method: str, path: str, body: str, content_type: str) -> dict:
    """Send one request and return its JSON answer (raises on a non-2xx status)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": content_type})
        response = conn.getresponse()
        payload = response.read()
    finally:
        conn.close()
    if not 200 <= response.status < 300:
        msg = f"{method} {path} -> {response.status}: {payload[:300]!r}"
        raise RuntimeError(msg)
    return json.loads(payload)
