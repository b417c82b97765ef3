"""Turn a run's JSON into the results table and the targets check.

bench/.venvs/tools/bin/python bench/report.py [bench/results/latest.json]
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from systems import SYSTEMS

Getter = Callable[[dict[str, Any]], float | None]


def metric(*keys: str, scale: float = 1.0) -> Getter:
    """Return a reader of ``record[keys[0]][keys[1]]...`` times *scale* (None when absent)."""

    def read(record: dict[str, Any]) -> float | None:
        value: Any = record
        for key in keys:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return None if value is None else float(value) * scale

    return read


def _mean_of(key: str) -> Getter:
    def read(record: dict[str, Any]) -> float | None:
        values = record.get(key)
        return statistics.fmean(values) if values else None

    return read


def _max_of(key: str) -> Getter:
    def read(record: dict[str, Any]) -> float | None:
        values = record.get(key)
        return max(values) if values else None

    return read


MS = 1e-3  # wrk reports microseconds
TIMES = "\u00d7"
DASH = "\u2013"
_S1, _S2, _S3 = "S1 authenticated read", "S2 login storm", "S3 registration"
_S4, _S5, _MEM = "S4 reads during a login storm", "S5 page at depth 980,000", "Machine"
_S5M = "S5 page at depth 500,000"
_S7 = "S7 reads during a forgot-password storm"
ROWS: list[tuple[str, str, Getter, str]] = [
    (_S1, "requests/s", metric("S1", "ok_per_s"), ",.0f"),
    (_S1, "p50 ms", metric("S1", "p50_us", scale=MS), ",.1f"),
    (_S1, "p99 ms", metric("S1", "p99_us", scale=MS), ",.1f"),
    (_S1, "errors", metric("S1", "errors"), ",.0f"),
    (_S1, "server CPU (cores)", metric("S1", "cpu", "server_cores"), ".2f"),
    (_S1, "PostgreSQL CPU (cores)", metric("S1", "cpu", "postgres_cores"), ".2f"),
    (_S1, "interrupts (cores)", metric("S1", "cpu", "interrupt_cores"), ".2f"),
    (_S1, "foreign load (cores)", metric("S1", "cpu", "foreign_cores"), ".2f"),
    (_S1, "wrk (cores)", metric("S1", "cpu", "wrk_cores"), ".2f"),
    (_S2, "logins/s", metric("S2", "ok_per_s"), ".2f"),
    (_S2, "p50 ms", metric("S2", "p50_us", scale=MS), ",.0f"),
    (_S2, "p99 ms", metric("S2", "p99_us", scale=MS), ",.0f"),
    (_S2, "errors", metric("S2", "errors"), ",.0f"),
    (_S2, "server CPU (cores)", metric("S2", "cpu", "server_cores"), ".2f"),
    (_S3, "registrations/s", metric("S3", "ok_per_s"), ".2f"),
    (_S3, "p50 ms", metric("S3", "p50_us", scale=MS), ",.0f"),
    (_S3, "p99 ms", metric("S3", "p99_us", scale=MS), ",.0f"),
    (_S3, "errors", metric("S3", "errors"), ",.0f"),
    (_S4, "reads/s", metric("S4", "reads", "ok_per_s"), ",.0f"),
    (_S4, "reads p50 ms", metric("S4", "reads", "p50_us", scale=MS), ",.1f"),
    (_S4, "reads p99 ms", metric("S4", "reads", "p99_us", scale=MS), ",.1f"),
    (_S4, "read timeouts", metric("S4", "reads", "timeout"), ",.0f"),
    (_S4, "logins/s", metric("S4", "logins", "ok_per_s"), ".2f"),
    (_S4, "logins p99 ms", metric("S4", "logins", "p99_us", scale=MS), ",.0f"),
    (_S4, "server CPU (cores)", metric("S4", "cpu", "server_cores"), ".2f"),
    (_S4, "PostgreSQL CPU (cores)", metric("S4", "cpu", "postgres_cores"), ".2f"),
    (_S4, "foreign load (cores)", metric("S4", "cpu", "foreign_cores"), ".2f"),
    (_S7, "reads/s", metric("S7", "reads", "ok_per_s"), ",.0f"),
    (_S7, "reads p99 ms", metric("S7", "reads", "p99_us", scale=MS), ",.1f"),
    (_S7, "forgot requests/s", metric("S7", "forgots", "ok_per_s"), ",.0f"),
    (_S7, "forgot p99 ms", metric("S7", "forgots", "p99_us", scale=MS), ",.1f"),
    (_S7, "mails written", metric("S7", "mailed"), ",.0f"),
    (_S7, "server CPU (cores)", metric("S7", "cpu", "server_cores"), ".2f"),
    (_S5, "offset p50 ms", metric("S5", "offset", "p50_ms"), ",.1f"),
    (_S5, "offset p99 ms", metric("S5", "offset", "p99_ms"), ",.1f"),
    (_S5, "cursor p50 ms", metric("S5", "cursor", "p50_ms"), ",.1f"),
    (_S5, "cursor p99 ms", metric("S5", "cursor", "p99_ms"), ",.1f"),
    (_S5, "offset p50 ms, id order", metric("S5", "offset_by_id", "p50_ms"), ",.1f"),
    (_S5M, "offset p50 ms", metric("S5", "offset_mid", "p50_ms"), ",.1f"),
    (_S5M, "offset p99 ms", metric("S5", "offset_mid", "p99_ms"), ",.1f"),
    (_S5M, "cursor p50 ms", metric("S5", "cursor_mid", "p50_ms"), ",.1f"),
    (_S5M, "cursor p99 ms", metric("S5", "cursor_mid", "p99_ms"), ",.1f"),
    (_MEM, "busy cores before start (background)", metric("background_cores"), ".2f"),
    (_MEM, "idle RSS per worker MiB", _mean_of("idle_rss_mib"), ",.0f"),
    (_MEM, "peak RSS per worker MiB", _max_of("peak_rss_mib"), ",.0f"),
]


def label(system: str) -> str:
    """Return the display name of *system*."""
    known = SYSTEMS.get(system)
    return known.label if known else system.replace("usermgmt-variant", "usermgmt (variant)")


def values(data: dict[str, Any], system: str, workers: int, getter: Getter) -> list[float]:
    """Return one metric over every round of (*system*, *workers*)."""
    found = []
    for record in data["runs"]:
        if record["system"] == system and record["workers"] == workers:
            value = getter(record)
            if value is not None:
                found.append(value)
    return found


def med(data: dict[str, Any], system: str, workers: int, getter: Getter) -> float | None:
    found = values(data, system, workers, getter)
    return statistics.median(found) if found else None


def cell(found: list[float], fmt: str) -> str:
    if not found:
        return "n/a"
    middle = format(statistics.median(found), fmt)
    if len(found) == 1:
        return middle
    return f"{middle} ({format(min(found), fmt)}{DASH}{format(max(found), fmt)})"


def columns(data: dict[str, Any]) -> list[tuple[str, int]]:
    systems = data["config"]["systems"]
    return [(s, w) for w in data["config"]["workers"] for s in systems]


def table(data: dict[str, Any]) -> str:
    """Every scenario x system x worker count: median (min to max) over the rounds."""
    cols = columns(data)
    head = "| Scenario | Metric | " + " | ".join(f"{label(s)}, {w}w" for s, w in cols) + " |"
    lines = [head, "|---|---|" + "---|" * len(cols)]
    for section, metric, getter, fmt in ROWS:
        cells = [cell(values(data, s, w, getter), fmt) for s, w in cols]
        if all(c == "n/a" for c in cells):
            continue
        lines.append(f"| {section} | {metric} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def bound(data: dict[str, Any]) -> float:
    return statistics.median(a["bound_per_s"] for a in data["argon2"])


def _fmt(value: float | None, fmt: str = ",.1f") -> str:
    return "n/a" if value is None else format(value, fmt)


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**not met**")


def targets(data: dict[str, Any]) -> str:  # noqa: C901, PLR0912 - one row per target
    """Check the issue's targets against the medians."""
    ceiling = bound(data)
    peers = [s for s in data["config"]["systems"] if not s.startswith("usermgmt")]
    rows = ["| Target | Workers | Measured | Verdict |", "|---|---|---|---|"]

    def best_peer(workers: int, getter: Getter) -> tuple[str, float] | None:
        found = [(p, med(data, p, workers, getter)) for p in peers]
        known = [(p, v) for p, v in found if v is not None]
        return max(known, key=lambda pv: pv[1]) if known else None

    for w in data["config"]["workers"]:
        ours = med(data, "usermgmt", w, metric("S1", "ok_per_s"))
        p99 = med(data, "usermgmt", w, metric("S1", "p99_us", scale=MS))
        best = best_peer(w, metric("S1", "ok_per_s"))
        if ours is not None and best is not None:
            ratio = ours / best[1]
            rows.append(
                f"| S1 ≥ 2{TIMES} best peer | {w} | {ours:,.0f} vs {SYSTEMS[best[0]].label} "
                f"{best[1]:,.0f} req/s = {ratio:.2f}{TIMES} | {_verdict(ratio >= 2)} |"
            )
        if p99 is not None:
            rows.append(f"| S1 p99 ≤ 100 ms | {w} | {p99:,.1f} ms | {_verdict(p99 <= 100)} |")
    for scenario, name in (("S2", "logins"), ("S3", "registrations")):
        ours = med(data, "usermgmt", 1, metric(scenario, "ok_per_s"))
        if ours is not None:
            share = ours / ceiling
            rows.append(
                f"| {scenario} ≥ 90 % of the hashing ceiling | 1 | {ours:.2f} {name}/s = "
                f"{share:.1%} of {ceiling:.2f}/s | {_verdict(share >= 0.9)} |"
            )
    for w in data["config"]["workers"]:
        ours = med(data, "usermgmt", w, metric("S4", "reads", "ok_per_s"))
        best = best_peer(w, metric("S4", "reads", "ok_per_s"))
        if ours is not None and best is not None:
            ratio = ours / best[1]
            rows.append(
                f"| S4 reads ≥ 10{TIMES} best peer | {w} | {ours:,.0f} vs {SYSTEMS[best[0]].label} "
                f"{best[1]:,.0f} req/s = {ratio:.1f}{TIMES} | {_verdict(ratio >= 10)} |"
            )
        p99 = med(data, "usermgmt", w, metric("S4", "reads", "p99_us", scale=MS))
        timeouts = values(data, "usermgmt", w, metric("S4", "reads", "timeout"))
        if p99 is not None:
            rows.append(
                f"| S4 reads p99 ≤ 1 s, no timeouts | {w} | {p99:,.0f} ms, "
                f"{sum(timeouts):.0f} timeouts | {_verdict(p99 <= 1000 and not sum(timeouts))} |"
            )
        logins = med(data, "usermgmt", w, metric("S4", "logins", "ok_per_s"))
        if logins is not None:
            share = logins / ceiling
            rows.append(
                f"| S4 logins ≥ 80 % of the ceiling | {w} | {logins:.2f}/s = {share:.1%} "
                f"| {_verdict(share >= 0.8)} |"
            )
    for w in data["config"]["workers"]:
        cursors = [
            c
            for key in ("cursor", "cursor_mid")
            if (c := med(data, "usermgmt", w, metric("S5", key, "p50_ms"))) is not None
        ]
        if cursors:
            worst = max(cursors)
            rows.append(
                f"| S5 cursor p50 ≤ 20 ms at any depth | {w} | {worst:,.1f} ms (the slower of "
                f"depths 980,000 and 500,000) | {_verdict(worst <= 20)} |"
            )
        for key, depth in (("offset", "980,000"), ("offset_mid", "500,000")):
            ours = med(data, "usermgmt", w, metric("S5", key, "p50_ms"))
            flask = med(data, "flask", w, metric("S5", key, "p50_ms"))
            if ours is not None and flask is not None:
                rows.append(
                    f"| S5 offset p50 ≤ 1/10 of Flask's (depth {depth}) | {w} | {ours:,.1f} vs "
                    f"{flask:,.1f} ms = 1/{flask / ours:.1f} | {_verdict(ours * 10 <= flask)} |"
                )
    for w in data["config"]["workers"]:
        for kind, getter in (
            ("idle", _mean_of("idle_rss_mib")),
            ("peak", _max_of("peak_rss_mib")),
        ):
            ours = med(data, "usermgmt", w, getter)
            found = [(p, med(data, p, w, getter)) for p in peers]
            known = [(p, v) for p, v in found if v is not None]
            if ours is None or not known:
                continue
            best_p, best_v = min(known, key=lambda pv: pv[1])
            rows.append(
                f"| RSS per worker ({kind}) ≤ best peer's | {w} | {ours:,.0f} vs "
                f"{label(best_p)} {best_v:,.0f} MiB | {_verdict(ours <= best_v)} |"
            )
    return "\n".join(rows)


def floors(data: dict[str, Any]) -> str:
    lines = []
    if data["argon2"]:
        cpu = statistics.median(a["cpu_s_per_verify"] for a in data["argon2"])
        wall = statistics.median(a["wall_s_per_verify"] for a in data["argon2"])
        lines.append(
            f"- argon2 bound: one verify at argon2-cffi's defaults (t=3, m=64 MiB, p=4) costs "
            f"{cpu * 1000:.0f} ms of CPU ({wall * 1000:.0f} ms wall) → "
            f"{data['argon2'][0]['cores']} cores ÷ {cpu:.3f} s = **{bound(data):.2f} "
            f"verifications/s** (median of {len(data['argon2'])} measurements)"
        )
    if data["pgbench"]:
        tps = [p["tps"] for p in data["pgbench"]]
        lines.append(
            f"- PostgreSQL floor: `{data['pgbench'][0]['command']}` → "
            f"**{statistics.median(tps):,.0f}** selects/s "
            f"(min{DASH}max {min(tps):,.0f}{DASH}{max(tps):,.0f})"
        )
    return "\n".join(lines)


def source_changed(start: str, end: str) -> bool:
    """Return whether src/ or sql/ differ between two commits as ``commit()`` records them."""
    if "uncommitted" in start or "uncommitted" in end:
        return start != end
    same = subprocess.run(
        [
            "git",
            "-C",
            str(Path(__file__).parent),
            "diff",
            "--quiet",
            start,
            end,
            "--",
            "../src",
            "../sql",
        ],
        check=False,
    )
    return same.returncode != 0


def markdown(data: dict[str, Any]) -> str:
    """The whole report: floors, the table, the targets."""
    config = data["config"]
    start, end = data["machine"].get("commit", "?"), data.get("commit_at_end")
    changed = ""
    if end is not None and source_changed(start, end):
        changed = f" **usermgmt's source changed during the run (now {end}).**"
    return (
        f"Run {data['run_id']} of commit {start}: {config['rounds']} round(s) of "
        f"{config['duration_s']:g} s per scenario, median (min{DASH}max).{changed}\n\n"
        f"{floors(data)}\n\n{table(data)}\n\n{targets(data)}\n"
    )


def one_line(record: dict[str, Any]) -> str:
    """A progress line for one system run."""
    parts = []
    for key, getter, fmt in (
        ("S1", metric("S1", "ok_per_s"), ",.0f"),
        ("S1p99", metric("S1", "p99_us", scale=MS), ",.0f"),
        ("S2", metric("S2", "ok_per_s"), ".2f"),
        ("S3", metric("S3", "ok_per_s"), ".2f"),
        ("S4r", metric("S4", "reads", "ok_per_s"), ",.0f"),
        ("S4p99", metric("S4", "reads", "p99_us", scale=MS), ",.0f"),
        ("S4l", metric("S4", "logins", "ok_per_s"), ".2f"),
        ("S5off", metric("S5", "offset", "p50_ms"), ",.1f"),
        ("S5cur", metric("S5", "cursor", "p50_ms"), ",.1f"),
        ("rss", _max_of("peak_rss_mib"), ",.0f"),
    ):
        value = getter(record)
        if value is not None:
            parts.append(f"{key}={format(value, fmt)}")
    return " ".join(parts)


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "results/latest.json"
    print(markdown(json.loads(path.read_text())))
