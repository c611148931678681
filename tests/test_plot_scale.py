"""benchmarks/plot_scale.py writes W10's and W12's PNGs from bench JSON rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from benchmarks import plot_scale  # once matplotlib is known to be there

PNG = b"\x89PNG\r\n\x1a\n"


def _row(wid: str, figure: str, value: float, baseline: float | None) -> dict[str, object]:
    ratio = None if baseline is None else round(value / baseline, 3)
    return {
        "id": wid,
        "figure": figure,
        "value": value,
        "baseline": baseline,
        "ratio": ratio,
        "target": "-",
        "meets": None,
        "note": "",
    }


def test_plots_are_pngs(tmp_path: Path) -> None:
    rows = [
        _row("W10", "get_feed p50 us, following 5,000 (100 celebrities) vs 100", 900.0, 600.0),
        _row("W10", "fan-out inserts/s into readers following 5,000 vs 100", 1e5, 2e5),
        *(
            _row("W12", f"inserts/s at {n:,} followers", 150_000.0 + n / 100, 100_000.0)
            for n in (1_000, 10_000, 100_000)
        ),
        _row("W12", "max/min inserts/s from 10,000 up", 1.05, None),
    ]
    source = tmp_path / "bench.json"
    source.write_text(json.dumps(rows))
    plot_scale.main([str(source), str(tmp_path / "out"), "--label", "synthetic"])
    for name in ("w10.png", "w12.png"):
        assert (tmp_path / "out" / name).read_bytes()[:8] == PNG
