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


def test_version_is_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"socialfeed {version('socialfeed')}"


@pytest.mark.parametrize("command", [[], ["demo"], ["worker"], ["bench"], ["plan"]])
def test_help_shows_defaults_and_no_backticks(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    out = capsys.readouterr().out
    assert "`" not in out
    assert "(default: None)" not in out and "(default: False)" not in out
    expected = {
        "demo": "(default: 3000)",
        "worker": "(default: 4)",
        "bench": "(default: 3)",
        "plan": "(default: 500000000)",
    }
    if command:
        assert expected[command[0]] in out.replace("\n", " ").replace("  ", " ")


def test_plan_echoes_its_inputs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--users", "1000", "--monthly-active", "900", "--daily-active", "800",
                 "--avg-followers", "30", "--media-share", "0.25"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    inputs, figures = out.split("Figures:")
    assert inputs.startswith("Inputs:")
    for flag, value in [("--users", "1,000"), ("--daily-active", "800"),
                        ("--avg-followers", "30"), ("--media-share", "0.25")]:  # fmt: skip
        assert any(line.split() == [flag, value] for line in inputs.splitlines()), (flag, out)
    assert "tweets/s (average)" in figures


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["plan", "--users", "0"], "users: must be in 1..1,000,000,000,000, got 0"),
        (["plan", "--tweets-per-day", "-5"], "tweets_per_day: must be in 0.."),
        (
            [
                "plan",
                "--users",
                "100",
                "--monthly-active",
                "50",
                "--daily-active",
                "10",
                "--avg-followers",
                "500",
            ],
            "avg_followers: must be in 0..users (100), got 500",
        ),
        (["plan", "--users", "100"], "monthly_active: must be in 1..users (100)"),
        (["plan", "--media-share", "2"], "media_share: must be in 0..1, got 2.0"),
        (["demo", "--users", "0"], "users: must be a whole number in 2..1,000,000, got 0"),
        (["demo", "--tweets", "-1"], "tweets: must be a whole number in 1.."),
        (["bench", "--only", "W99"], "unknown workload W99; known workloads: W1, W2"),
        (["bench", "--only", "W9,nope"], "unknown workload NOPE; known workloads:"),
    ],
)
def test_nonsense_is_refused_in_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"socialfeed {argv[0]}: error: ")
    assert message in captured.err and "Traceback" not in captured.err
    assert captured.err.count("\n") == 1


def test_an_unknown_workload_starts_no_server() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "socialfeed", "bench", "--only", "W99"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "W9" in done.stderr and "redis-server" not in done.stderr and ".." not in done.stderr
