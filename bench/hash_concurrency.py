"""S4 for several settings of USERMGMT_HASH_CONCURRENCY: reads/s against logins/s.

During a login storm the two cores go either to reads (the event loop) or to
argon2 (the hashing threads). ``USERMGMT_HASH_CONCURRENCY`` sets how many
hashes one worker computes at once: fewer leave the loop more CPU, more give
logins more of it. This script starts ``usermgmt serve`` on the benchmark's
database (``bench_usermgmt``, made by ``bench/run.py`` or ``bench/prepare.py``)
once per setting and worker count, runs S4 exactly as ``bench/run.py`` does
(S1's 64 reading connections beside S2's 16 logging in, for ``--seconds``),
round after round with the settings interleaved, and prints for each the
median reads/s, reads p99, logins/s and the logins' share of the hashing bound
(measured at the start of each round), with the CPU of the server. With
``--s2`` the logins run alone (S2), to see what a setting costs them when
nothing else wants the CPU.

    bench/.venvs/tools/bin/python bench/hash_concurrency.py
    bench/.venvs/tools/bin/python bench/hash_concurrency.py --workers 1 --values 1,2,3,4
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
from typing import Any

import measure
from run import RESULTS, TOKEN_USERS, logins, reads, scenario, serving, settle, sign_in
from systems import USERMGMT

VARIABLE = "USERMGMT_HASH_CONCURRENCY"


def one(workers: int, value: int, seconds: float, tag: str, *, s2: bool) -> dict[str, Any]:
    """Run S4 (S2 if *s2*) against usermgmt with *workers* workers hashing *value* at once each."""
    os.environ[VARIABLE] = str(value)
    try:
        with serving(USERMGMT, workers, RESULTS / "logs" / f"{tag}.log") as root:
            tokens = sign_in(USERMGMT, TOKEN_USERS)
            reads(USERMGMT, tokens, 3).result()  # warm-up, not recorded
            settle(root)
            if s2:
                (login,), cpu = scenario(USERMGMT, root, lambda _: [logins(USERMGMT, seconds, 0)])
                read = {"ok_per_s": 0.0, "p99_us": 0.0}
            else:
                (read, login), cpu = scenario(
                    USERMGMT,
                    root,
                    lambda _: [reads(USERMGMT, tokens, seconds), logins(USERMGMT, seconds, 0)],
                )
    finally:
        del os.environ[VARIABLE]
    return {
        "workers": workers,
        "hash_concurrency": value,
        "reads_per_s": read["ok_per_s"],
        "reads_p99_ms": read["p99_us"] / 1000,
        "logins_per_s": login["ok_per_s"],
        "login_errors": login["errors"],
        "server_cores": cpu["server_cores"],
        "worker_cores": cpu["worker_cores"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2", help="worker counts (default: 1,2)")
    parser.add_argument("--values", default="1,2,3,4", help="settings to try (default: 1,2,3,4)")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--s2", action="store_true", help="logins alone (S2), no reads")
    opts = parser.parse_args()
    workers = [int(w) for w in opts.workers.split(",")]
    values = [int(v) for v in opts.values.split(",")]
    stamp = f"{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}"
    runs: list[dict[str, Any]] = []
    bounds: list[float] = []
    for round_no in range(opts.rounds):
        bound = measure.argon2_bound()
        bounds.append(bound["bound_per_s"])
        print(f"round {round_no + 1}: argon2 bound {bound['bound_per_s']:.2f}/s", flush=True)
        for count in workers:
            for value in values:
                measure.wait_quiet()
                tag = f"hashconc-{stamp}-w{count}-c{value}-r{round_no}"
                result = one(count, value, opts.seconds, tag, s2=opts.s2) | {"round": round_no}
                runs.append(result)
                print(f"  {json.dumps(result)}", flush=True)
    out = RESULTS / f"hash-concurrency-{stamp}.json"
    out.write_text(json.dumps({"bounds": bounds, "runs": runs}, indent=1))
    ceiling = statistics.median(bounds)
    print(f"\nargon2 bound {ceiling:.2f}/s (median of {len(bounds)}); medians of the rounds")
    print(
        "| workers | hashes at once per worker | reads/s | reads p99 ms | logins/s | of bound "
        "| login errors | server cores |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for count in workers:
        for value in values:
            mine = [r for r in runs if (r["workers"], r["hash_concurrency"]) == (count, value)]

            def med(key: str, rows: list[dict[str, Any]] = mine) -> float:
                return statistics.median(r[key] for r in rows)

            print(
                f"| {count} | {value} | {med('reads_per_s'):,.0f} | {med('reads_p99_ms'):,.0f} "
                f"| {med('logins_per_s'):.2f} | {med('logins_per_s') / ceiling:.0%} "
                f"| {med('login_errors'):,.0f} | {med('server_cores'):.2f} |"
            )
    print(f"\nraw results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
