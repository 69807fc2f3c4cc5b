"""Sensitivity: a lever with no effect stays under the dummy's band; a dominant one ranks first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model.errors import InputError
from model.sweep.sensitivity import DUMMY, dummy_seed, run_sensitivity  # noqa: F401 (DUMMY: in query)
from model.sweep.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"

# The toy: contribution = 1e6·p_join_max + 2e4·rel_rate_private + noise(sd 2e3);
# repurchase_rate_90d = 0.2 + 0.1·rel_rate_private + noise; referral.p_convert does nothing.
TOY_SENSITIVITY = f"""
name = "toy_sensitivity"
scenario = "{BASELINE.as_posix()}"
run = "model.sweep.toy:toy_run"
replicates = 2
root_seed = 17
kpis = ["contribution", "repurchase_rate_90d", "ltv_365"]

[sweep]
"diversion.p_join_max" = {{ low = 0.05, high = 0.30 }}
"referral.p_convert" = {{ low = 0.01, high = 0.10 }}
"behaviour.rel_rate_private" = {{ low = 1.0, high = 1.6 }}

[sensitivity]
methods = ["morris", "sobol"]
sobol_n = 64
morris_trajectories = 10
morris_levels = 4
"""


@pytest.fixture(scope="module")
def toy_result(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sens")
    (tmp / "spec.toml").write_text(TOY_SENSITIVITY)
    spec = load_spec(tmp / "spec.toml", kind="sensitivity")
    return run_sensitivity(spec, tmp / "out", workers=1, progress=False, plots=True)


def test_design_sizes_and_counts(toy_result):
    # Sobol: N·(D+2) = 64·(4+2) = 384 points; Morris: r·(D+1) = 10·5 = 50; × 2 replicates.
    assert toy_result.n_points == 384 + 50
    # Morris trajectories may revisit a grid point: coinciding points share their stored runs.
    assert 0.9 * 434 * 2 <= toy_result.n_runs <= 434 * 2
    assert toy_result.n_ran == toy_result.n_runs and toy_result.n_failed == 0
    # The toy reports no ltv_365 (as a one-year run has none): a KPI without values is skipped.
    assert toy_result.skipped == {"ltv_365": "434 of 434 points have no value (failed or "
                                             "undefined)"}


def test_a_parameter_with_no_effect_stays_inside_the_dummy_band(toy_result):
    for metric in ("contribution", "repurchase_rate_90d"):
        sobol = toy_result.ranking(metric, "sobol").set_index("parameter")
        # With common random numbers a lever with no effect changes nothing: ST is exactly 0.
        assert sobol.loc["referral.p_convert", "value"] == 0.0
        assert sobol.loc["referral.p_convert", "value"] <= sobol["noise_floor"].iloc[0]
        assert not sobol.loc["referral.p_convert", "above_noise"]
        morris = toy_result.ranking(metric, "morris").set_index("parameter")
        assert morris.loc["referral.p_convert", "value"] <= morris["noise_floor"].iloc[0]


def test_the_dominant_parameter_ranks_first(toy_result):
    for method in ("sobol", "morris"):
        contribution = toy_result.ranking("contribution", method)
        assert contribution["parameter"].iloc[0] == "diversion.p_join_max"
        assert contribution["above_noise"].iloc[0]
        repurchase = toy_result.ranking("repurchase_rate_90d", method)
        assert repurchase["parameter"].iloc[0] == "behaviour.rel_rate_private"
    # Analytic shares of the toy's contribution variance: Var(1e6·U(.05,.3)) = 5208·1e6,
    # Var(2e4·U(1,1.6)) = 12·1e6 and the replicate-mean noise 2e3²/2 = 2·1e6, so ST of
    # p_join_max ≈ 0.997; the dummy (the seed) carries the noise share ≈ 0.0004.
    sobol = toy_result.ranking("contribution", "sobol").set_index("parameter")
    assert sobol.loc["diversion.p_join_max", "value"] == pytest.approx(0.997, abs=0.03)
    dummy = toy_result.indices.query(
        "method == 'sobol' and metric == 'contribution' and index == 'ST' and parameter == @DUMMY"
    )
    assert float(dummy["value"].iloc[0]) < 0.01


def test_indices_file_and_plots_are_written(toy_result):
    written = (toy_result.out / "indices.csv").read_text().splitlines()
    assert written[0] == "method,metric,parameter,index,value,conf"
    assert {p.name for p in toy_result.plots} == {
        "sensitivity_contribution.png",
        "sensitivity_repurchase_rate_90d.png",
    }


def test_dummy_seeds_are_stable_and_distinct():
    assert dummy_seed(1, 0.25) == dummy_seed(1, 0.25)
    seeds = {dummy_seed(1, u) for u in np.linspace(0, 1, 50)}
    assert len(seeds) == 50 and max(seeds) < 2**63


def test_sensitivity_spec_needs_ranges(tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text(TOY_SENSITIVITY.replace("{ low = 0.01, high = 0.10 }", "[0.01, 0.1]"))
    with pytest.raises(InputError, match="sweep.referral.p_convert: sensitivity needs a range"):
        load_spec(path, kind="sensitivity")
    path.write_text(TOY_SENSITIVITY.replace("sobol_n = 64", "sobol_n = 60"))
    with pytest.raises(InputError, match="sensitivity.sobol_n = 60: must be a power of 2"):
        load_spec(path, kind="sensitivity")


@pytest.mark.slow
def test_cli_sensitivity_on_the_real_model(tmp_path):
    """The real simulator through the CLI: tiny design, the ranking is printed."""
    text = f"""
scenario = "{BASELINE.as_posix()}"
replicates = 1
root_seed = 3
kpis = ["roi", "n_private"]
[set]
"market.size" = 20000
"market.initial_public" = 1000
"budget.per_day_yuan" = 700.0
"sim.days" = 120
[sweep]
"diversion.p_join_max" = {{ low = 0.05, high = 0.30 }}
"outreach.p_unfollow_base" = {{ low = 0.001, high = 0.02, log = true }}
[sensitivity]
methods = ["morris"]
morris_trajectories = 4
"""
    path = tmp_path / "spec.toml"
    path.write_text(text)
    proc = subprocess.run(
        [
            sys.executable,
            "run.py",
            "sensitivity",
            str(path),
            "--out",
            str(tmp_path / "out"),
            "--workers",
            "2",
            "--no-progress",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "running 16" in proc.stdout  # 4 trajectories × (2 + dummy + 1) points × 1 replicate
    assert "n_private — Morris mu*" in proc.stdout
    lines = proc.stdout.split("n_private — Morris mu*")[1].splitlines()
    # More joiners, bigger pool: p_join_max leads the pool size ranking.
    assert lines[1].split()[0] == "diversion.p_join_max"
