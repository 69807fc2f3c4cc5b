"""The real commands on a small market: files written, KPIs consistent, bad input exits 2."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from model.cli import main

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "tests" / "data" / "scenarios" / "small.toml"
REQUIRED_KPIS = [
    "roi",
    "contribution",
    "cac_paid",
    "repurchase_rate_30d",
    "repurchase_rate_90d",
    "repurchase_rate_180d",
    "ltv_365",
    "share_private_gmv",
    "unfollows_per_1000_pushes",
    "k_factor",
    "n_prospect",
    "n_public",
    "n_private",
    "n_lapsed",
]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "run.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_run_writes_every_output(tmp_path):
    out = tmp_path / "small"
    proc = run_cli(
        "run",
        str(SMALL),
        "--seed",
        "7",
        "--days",
        "90",
        "--set",
        "outreach.pushes_per_week=3",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    for name in (
        "daily.parquet",
        "daily.csv",
        "summary.json",
        "scenario.toml",
        "customers_by_domain.png",
        "contribution.png",
        "cost_breakdown.png",
    ):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text())
    assert set(REQUIRED_KPIS) <= summary.keys()
    assert summary["provenance"]["seed"] == 7
    assert summary["provenance"]["package_version"]
    daily = pd.read_parquet(out / "daily.parquet")
    assert len(daily) == 90
    assert pd.read_csv(out / "daily.csv").shape == daily.shape
    assert summary["contribution"] == pytest.approx(daily["contribution"].sum(), abs=0.01)
    assert summary["n_private"] == daily["n_private"].iloc[-1]
    resolved = tomllib.loads((out / "scenario.toml").read_text())
    assert resolved["sim"]["seed"] == 7 and resolved["outreach"]["pushes_per_week"] == 3
    # The terminal shows the KPI table.
    assert "roi" in proc.stdout and "n_private" in proc.stdout


def test_resolved_scenario_reproduces_the_run(tmp_path):
    assert main(["run", str(SMALL), "--out", str(tmp_path / "a"), "--no-plots"]) == 0
    again = tmp_path / "a" / "scenario.toml"
    assert main(["run", str(again), "--out", str(tmp_path / "b"), "--no-plots"]) == 0
    a = pd.read_parquet(tmp_path / "a" / "daily.parquet")
    b = pd.read_parquet(tmp_path / "b" / "daily.parquet")
    pd.testing.assert_frame_equal(a, b)
    assert not (tmp_path / "a" / "contribution.png").exists()


def test_validate(tmp_path):
    ok = run_cli("validate", str(SMALL))
    assert ok.returncode == 0 and "ok:" in ok.stdout
    bad = run_cli("validate", str(ROOT / "tests/data/scenarios/wrong_unknown_key.toml"))
    assert bad.returncode == 2
    assert "did you mean 'pushes_per_week'" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--set", "outreach.pushes_per_week=12"], "outreach.pushes_per_week = 12"),
        (["--days", "0"], "sim.days = 0"),
        (["--set", "market.sise=10"], "did you mean 'size'"),
        (["--set", "novalue"], "expected dotted.key=value"),
    ],
)
def test_bad_input_exit_2_no_output(tmp_path, args, message):
    out = tmp_path / "never"
    proc = run_cli("run", str(SMALL), "--out", str(out), *args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no partial directory either


def test_missing_file_exit_2(tmp_path):
    proc = run_cli("run", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "x"))
    assert proc.returncode == 2 and "nope.toml: file not found" in proc.stderr


def test_every_command_has_help(capsys):
    import argparse

    from model.cli import build_parser

    top = run_cli("--help")  # once for real, as a user types it
    assert top.returncode == 0
    (commands,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    assert {"run", "validate"} <= set(commands.choices)
    for command in commands.choices:
        assert command in top.stdout
        with pytest.raises(SystemExit) as done:  # in-process: no interpreter start per command
            main([command, "--help"])
        assert done.value.code == 0
        assert "usage:" in capsys.readouterr().out, command


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["sweep", "scenarios/sweeps/outreach_vs_incentive.toml", "--workers", "0"],
            "--workers: 0 must be at least 1",
        ),
        (
            ["sensitivity", "scenarios/sweeps/sensitivity_market.toml", "--retries", "-1"],
            "--retries: -1 must be 0 or more",
        ),
    ],
)
def test_execution_flags_checked_alike_for_sweep_and_sensitivity(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as done:
        main([*args, "--out", str(tmp_path / "never")])
    assert done.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "never").exists()
