from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from socialfeed.cli import main


def test_demo_runs_and_reports(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--users", "300", "--tweets", "2000"]) == 0
    out = capsys.readouterr().out
    assert "Home feed of user" in out
    assert "tweets/s" in out and "p50" in out and "p99" in out
    assert "celebrities" in out
    assert "https://in.cdn.example.com/media/" in out and "https://cdn.example.com/media/" in out


def test_python_m_is_the_same_program() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "socialfeed", "plan", "--tweets-per-day", "86400"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "tweets/s (average)" in out.stdout and " 1.0" in out.stdout


def test_plan_figures() -> None:
    from socialfeed.plan import Plan

    figures = Plan().figures()
    assert round(figures["tweets/s (average)"]) == 579
    assert figures["feed cache GiB"] == pytest.approx(300e6 * 800 * 10 / 2**30)


def test_bench_quick_w9_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bench.json"
    assert main(["bench", "--only", "W9", "--quick", "--repeats", "1", "--json", str(path)]) == 0
    rows = json.loads(path.read_text())
    assert [r["id"] for r in rows] == ["W9"]
    row = rows[0]
    assert set(row) >= {"id", "figure", "value", "baseline", "ratio", "target", "meets"}
    assert row["value"] > 0 and row["baseline"] > 0 and row["ratio"] > 0
    assert "W9" in capsys.readouterr().out
