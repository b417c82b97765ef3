"""Draw S1 and S4 for every system from a run's JSON into docs/benchmarks.png.

bench/.venvs/tools/bin/python bench/chart.py [bench/results/latest.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt
import report
from matplotlib import ticker
from systems import BENCH

OUT = BENCH.parent / "docs" / "benchmarks.png"
COLOURS = {
    "usermgmt": "#1b7837",
    "usermgmt-variant": "#7fbf7b",
    "fastapi-users": "#2166ac",
    "flask": "#b2182b",
}
PANELS = [
    (
        "S1 authenticated read: requests/s (higher is better)",
        report.metric("S1", "ok_per_s"),
        False,
    ),
    (
        "S1 authenticated read: p99 latency, ms (lower is better)",
        report.metric("S1", "p99_us", scale=report.MS),
        True,
    ),
    (
        "S4 reads during a login storm: requests/s (log scale)",
        report.metric("S4", "reads", "ok_per_s"),
        True,
    ),
    (
        "S4 reads during a login storm: p99 latency, ms (log scale)",
        report.metric("S4", "reads", "p99_us", scale=report.MS),
        True,
    ),
]


def draw(data: dict[str, Any], out: Path) -> None:
    systems = data["config"]["systems"]
    worker_counts = data["config"]["workers"]
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    width = 0.8 / len(systems)
    for ax, (title, getter, log) in zip(axes.flat, PANELS, strict=True):
        for i, system in enumerate(systems):
            xs, mids, lows, highs = [], [], [], []
            for j, workers in enumerate(worker_counts):
                found = report.values(data, system, workers, getter)
                if not found:
                    continue
                mid = report.statistics.median(found)
                xs.append(j + (i - (len(systems) - 1) / 2) * width)
                mids.append(mid)
                lows.append(mid - min(found))
                highs.append(max(found) - mid)
            bars = ax.bar(
                xs,
                mids,
                width * 0.92,
                yerr=[lows, highs],
                capsize=3,
                color=COLOURS.get(system, "grey"),
                label=report.label(system),
            )
            ax.bar_label(bars, labels=[f"{m:,.0f}" for m in mids], fontsize=8, padding=2)
        ax.set_title(title, fontsize=11)
        ax.set_xticks(range(len(worker_counts)))
        ax.set_xticklabels([f"{w} worker{'s' if w > 1 else ''}" for w in worker_counts])
        if log:
            ax.set_yscale("log")
            ax.yaxis.set_minor_formatter(ticker.NullFormatter())
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.margins(y=0.15)
        ax.grid(axis="y", alpha=0.3)
    axes.flat[0].legend(loc="upper left", fontsize=9)
    config = data["config"]
    fig.suptitle(
        f"usermgmt and its peers on {data['machine']['cores']} cores: median of "
        f"{config['rounds']} interleaved rounds (bars: min to max), "
        f"{config['s1_connections']} read connections, "
        f"{config['s2_connections']} login connections in S4",
        fontsize=11,
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else BENCH / "results" / "latest.json"
    draw(json.loads(path.read_text()), OUT)
