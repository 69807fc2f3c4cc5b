"""The CLI's plumbing: cheap parsers, shared options, closed pipes, progress, tiny data.

Building the parser loads no simulator; the execution options are checked while parsing; a
closed pipe ends quietly; progress shows only on a terminal; fit-orders warns when an order
export is too small to fit.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from model.cli import COMMAND_MODULES, EXIT_BROKEN_PIPE, main

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "tests" / "data" / "scenarios" / "small.toml"
SERIES = ROOT / "tests" / "data" / "series"
HEAVY = {"mesa", "pandas", "matplotlib"}
# Command modules another change is rewriting; each still imports its library at module level.
PENDING: set[str] = set()


def _top_level_imports(argv: list[str]) -> set[str]:
    """Top-level packages a fresh interpreter imports to run ``python -X importtime argv``."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    names = [
        line.rsplit("|", 1)[-1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    ]
    assert names, proc.stderr[-500:]
    return {name.split(".")[0] for name in names}


def test_building_each_command_parser_imports_no_simulator_pandas_or_matplotlib():
    """Each command module imports its heavy libraries only inside the function that runs it."""
    owned = [m for m in COMMAND_MODULES if m not in PENDING]
    code = (
        "import argparse, importlib\n"
        "sub = argparse.ArgumentParser().add_subparsers()\n"
        f"for name in {owned!r}:\n"
        "    importlib.import_module(name).register(sub)\n"
    )
    assert not _top_level_imports(["-c", code]) & HEAVY


@pytest.mark.parametrize("argv", [["--help"], ["validate", "scenarios/baseline.toml"]])
def test_help_and_validate_import_no_simulator_pandas_or_matplotlib(argv):
    assert not _top_level_imports(["run.py", *argv]) & HEAVY


# --- the shared execution options ----------------------------------------------------------------


@pytest.mark.parametrize("command", ["calibrate", "forecast"])
@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "not allowed with argument"),
        (["--workers", "0"], "--workers: 0 must be at least 1"),
        (["--seed", "-1"], "--seed: -1 must be from 0 to 9223372036854775807"),
        (["--seed", str(2**63)], "must be from 0 to 9223372036854775807"),
        (["--seed", "1.5"], "--seed: '1.5' is not a whole number"),
    ],
)
def test_execution_options_are_checked_while_parsing(command, flags, message, tmp_path, capsys):
    argv = [command, str(SMALL), "--out", str(tmp_path / "never"), *flags]
    if command == "calibrate":
        argv += ["--series", str(SERIES / "valid.csv")]
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "never").exists()


# --- a reader that goes away ----------------------------------------------------------------------

RUN = [sys.executable, "run.py", "run", str(SMALL), "--no-plots", "--set", "sim.days=10"]


def test_piping_run_into_head_prints_no_traceback(tmp_path):
    out = tmp_path / "run"
    command = " ".join([*RUN, "--out", str(out)]) + " | head -1"
    proc = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.stdout.startswith("small")  # head's one line
    assert proc.returncode in (0, EXIT_BROKEN_PIPE), proc.stderr
    assert "Traceback" not in proc.stderr and "Broken pipe" not in proc.stderr, proc.stderr
    assert json.loads((out / "summary.json").read_text())["n_private"] >= 0


def test_a_pipe_closed_before_any_output_ends_quietly_with_the_files_written(tmp_path):
    """The reader is gone before the first print: every print fails, yet no traceback."""
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [*RUN, "--out", str(out)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == EXIT_BROKEN_PIPE, err
    assert err == ""
    assert (out / "daily.csv").is_file() and (out / "summary.json").is_file()


# --- progress only on a terminal ------------------------------------------------------------------


class Terminal(io.StringIO):
    """A stand-in for stderr on a terminal."""

    def isatty(self) -> bool:
        return True


def _stderr_of(argv: list[str], monkeypatch, *, terminal: bool) -> str:
    stream = Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    assert main(argv) == 0
    return stream.getvalue()


FORECAST = ["forecast", str(SMALL), "--months", "1", "--replicates", "2", "--workers", "1"]
CALIBRATE = [
    "calibrate",
    str(SMALL),
    "--series",
    str(SERIES / "valid.csv"),
    "--populations",
    "1",
    "--population-size",
    "3",
    "--predictive-draws",
    "2",
    "--workers",
    "1",
]


def test_forecast_draws_a_progress_bar_only_on_a_terminal(tmp_path, monkeypatch, capsys):
    bar = "forecast: 100%"
    shown = _stderr_of([*FORECAST, "--out", str(tmp_path / "a")], monkeypatch, terminal=True)
    assert bar in shown
    logged = _stderr_of([*FORECAST, "--out", str(tmp_path / "b")], monkeypatch, terminal=False)
    assert logged == ""
    quiet = [*FORECAST, "--out", str(tmp_path / "c"), "--no-progress"]
    assert _stderr_of(quiet, monkeypatch, terminal=True) == ""


def test_calibrate_shows_generations_and_a_bar_only_on_a_terminal(tmp_path, monkeypatch, capsys):
    shown = _stderr_of([*CALIBRATE, "--out", str(tmp_path / "a")], monkeypatch, terminal=True)
    assert "ABC INFO: t: 0" in shown and "posterior predictive: 100%" in shown
    logged = _stderr_of([*CALIBRATE, "--out", str(tmp_path / "b")], monkeypatch, terminal=False)
    assert logged == ""  # no pyABC INFO lines, no bar in a log
    quiet = [*CALIBRATE, "--out", str(tmp_path / "c"), "--no-progress"]
    assert _stderr_of(quiet, monkeypatch, terminal=True) == ""


def test_run_draws_a_progress_bar_only_on_a_terminal(tmp_path, monkeypatch, capsys):
    run = ["run", str(SMALL), "--no-plots", "--set", "sim.days=10"]
    shown = _stderr_of([*run, "--out", str(tmp_path / "a")], monkeypatch, terminal=True)
    assert "simulating" in shown
    assert _stderr_of([*run, "--out", str(tmp_path / "b")], monkeypatch, terminal=False) == ""
    quiet = [*run, "--out", str(tmp_path / "c"), "--no-progress"]
    assert _stderr_of(quiet, monkeypatch, terminal=True) == ""


# --- fit-orders on too little data ----------------------------------------------------------------

TWO_CUSTOMERS = (
    "customer_id,date,amount\na,2024-01-01,10\na,2024-02-01,12\nb,2024-01-05,20\nb,2024-03-01,22\n"
)


def test_fit_orders_on_two_customers_warns_that_the_data_are_too_few(tmp_path, capsys):
    orders = tmp_path / "orders.csv"
    orders.write_text(TWO_CUSTOMERS)
    argv = ["fit-orders", str(orders), "--calibration-end", "2024-04-30", "--out"]
    assert main([*argv, str(tmp_path / "fit")]) == 0
    err = capsys.readouterr().err
    assert "warning: too little data for a stable fit: 2 customers" in err
    record = json.loads((tmp_path / "fit" / "fit.json").read_text())
    assert record["bgnbd"]["r"] > 1e5  # the runaway value the warning is about


def test_fit_orders_on_enough_customers_gives_no_such_warning(tmp_path, capsys):
    good = ROOT / "tests" / "data" / "orders" / "good.csv"  # 600 customers
    argv = ["fit-orders", str(good), "--calibration-end", "2024-06-30", "--out"]
    assert main([*argv, str(tmp_path / "fit")]) == 0
    assert "too little data" not in capsys.readouterr().err
