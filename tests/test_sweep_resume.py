"""Resume after Ctrl-C and after kill -9 of the main process; no worker outlives it."""

from __future__ import annotations

import concurrent.futures
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from model.experiment.store import ResultStore
from model.sweep.reading import sweep_hash
from model.sweep.runner import run_sweep
from model.sweep.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"

# 6 × 4 points × 2 replicates = 48 runs of 0.2 s: ~5 s on 2 workers, long enough to interrupt.
SPEC = f"""
name = "resume"
scenario = "{BASELINE.as_posix()}"
run = "model.sweep.toy:toy_run_slow"
replicates = 2
root_seed = 99
kpis = ["roi", "contribution"]

[sweep]
"outreach.pushes_per_week" = [0.5, 1, 2, 3, 4, 5]
"diversion.incentive_yuan" = [0.0, 2.0, 4.0, 8.0]
"""
N_RUNS = 48


def _sweep_cmd(spec: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "run.py",
        "sweep",
        str(spec),
        "--out",
        str(out),
        "--workers",
        "2",
        "--no-progress",
        "--no-plots",
    ]


def _live(procs: list[psutil.Process]) -> list[psutil.Process]:
    alive = []
    for proc in procs:
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.NoSuchProcess:
            pass
    return alive


def _interrupt_when_parts_exist(spec: Path, out: Path, sig: int) -> tuple[int, int]:
    """Start the sweep, wait for a stored part file, send ``sig``; return (exit code, stored)."""
    # preexec_fn: a child of a shell without job control inherits SIGINT ignored (see
    # test_compare.py::test_cli_resumes_after_ctrl_c_and_cleans_up).
    proc = subprocess.Popen(
        _sweep_cmd(spec, out),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    children: list[psutil.Process] = []
    try:
        deadline = time.time() + 60
        while not list((out / "runs").glob("part-*.parquet")):
            assert proc.poll() is None, proc.communicate()
            assert time.time() < deadline, "no part file appeared"
            time.sleep(0.05)
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= 2  # the two pool workers (and the resource tracker)
        proc.send_signal(sig)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    # Every child of the main process — pool workers, resource tracker — goes with it.
    deadline = time.time() + 10
    while _live(children) and time.time() < deadline:
        time.sleep(0.1)
    assert _live(children) == []
    stored = len(ResultStore(out).finished_keys())
    return proc.returncode, stored


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted sweep's hash.

    Computed on threads: the slow toy only sleeps, and any ``concurrent.futures`` executor
    fits the seam (and must give the same numbers).
    """
    tmp = tmp_path_factory.mktemp("ref")
    spec = tmp / "spec.toml"
    spec.write_text(SPEC)
    with concurrent.futures.ThreadPoolExecutor(4) as threads:
        result = run_sweep(
            load_spec(spec), tmp / "out", executor=threads, progress=False, plots=False
        )
    assert result.report.n_ran == N_RUNS
    return result.result_hash


@pytest.mark.slow
@pytest.mark.parametrize(
    "sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["SIGINT", "SIGTERM", "SIGKILL"]
)
def test_resume_runs_exactly_the_missing_runs(tmp_path, reference, sig):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    out = tmp_path / "out"
    code, stored = _interrupt_when_parts_exist(spec, out, sig)
    # Ctrl-C and SIGTERM flush what finished and exit 130; SIGKILL cannot be caught.
    assert code == (-signal.SIGKILL if sig == signal.SIGKILL else 130)
    assert 0 < stored < N_RUNS

    second = subprocess.run(
        _sweep_cmd(spec, out), cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert second.returncode == 0, second.stderr
    match = re.search(r"(\d+) already stored, running (\d+)", second.stdout)
    assert match, second.stdout
    assert (int(match.group(1)), int(match.group(2))) == (stored, N_RUNS - stored)
    assert f"ran {N_RUNS - stored} runs this time" in second.stdout
    assert f"{N_RUNS}/{N_RUNS} runs stored, 0 failed" in second.stdout
    assert f"result hash {reference}" in second.stdout
    assert sweep_hash(out) == reference
