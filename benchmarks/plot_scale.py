"""Plot W10 and W12 from ``socialfeed bench --json PATH --only W10,W12``.

``python benchmarks/plot_scale.py bench.json docs/ [--label "quick sizes"]`` writes
``docs/w12.png`` (feed inserts/s against followers, log x axis, the library beside the raw ZADD
pipeline) and ``docs/w10.png`` (get_feed p50 of a reader following many accounts against one
following 100).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # after use("Agg")

W12_FIGURE = re.compile(r"inserts/s at ([\d,]+) followers")
W10_FIGURE = re.compile(r"get_feed p50 us, following ([\d,]+)")


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def plot_w12(rows: list[dict[str, Any]], path: Path, label: str) -> None:
    points = sorted(
        (_number(m.group(1)), r["value"], r["baseline"])
        for r in rows
        if r["id"] == "W12" and (m := W12_FIGURE.fullmatch(r["figure"]))
    )
    if not points:
        raise SystemExit("no W12 rows")
    fig, ax = plt.subplots(figsize=(6, 4))
    sizes = [p[0] for p in points]
    ax.plot(sizes, [p[1] for p in points], "o-", label="socialfeed (push, drained)")
    ax.plot(sizes, [p[2] for p in points], "s--", label="raw ZADD pipeline")
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("followers of the author")
    ax.set_ylabel("feed inserts/s")
    ax.set_title(f"W12: one tweet, push, Redis ({label})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_w10(rows: list[dict[str, Any]], path: Path, label: str) -> None:
    found = [
        (_number(m.group(1)), r["value"], r["baseline"])
        for r in rows
        if r["id"] == "W10" and (m := W10_FIGURE.match(r["figure"]))
    ]
    if not found:
        raise SystemExit("no W10 get_feed row")
    wide, value, baseline = found[0]
    fig, ax = plt.subplots(figsize=(5, 4))
    bars = ax.bar(["following 100", f"following {wide:,}"], [baseline, value])
    ax.bar_label(bars, fmt="%.0f µs")
    ax.set_ylabel("get_feed(u, limit=20) p50, µs")
    ax.set_title(f"W10: hybrid read, Redis ({label})")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=Path, help="the JSON rows of socialfeed bench --json")
    parser.add_argument("out", type=Path, help="the directory for w10.png and w12.png")
    parser.add_argument("--label", default="full sizes", help="what the run was (e.g. quick)")
    args = parser.parse_args(argv)
    rows = json.loads(args.rows.read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    plot_w12(rows, args.out / "w12.png", args.label)
    plot_w10(rows, args.out / "w10.png", args.label)


if __name__ == "__main__":
    main()
