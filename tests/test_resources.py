"""Plans are checked against the machine's memory before they start (issue 14)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

import model.cli
import model.resources as resources
from model.api import simulate
from model.resources import Memory, run_bytes
from tests.helpers import baseline_with

DATA = Path(__file__).parent / "data"
SMALL = DATA / "scenarios" / "small.toml"
GB = 10**9


@pytest.fixture
def small_machine(monkeypatch):
    """A machine with 24 GB installed, 4 GB of it available now."""
    monkeypatch.setattr(resources, "machine_memory", lambda: Memory(24 * GB, 4 * GB))


def _allocated(size: int, network: str) -> int:
    """Peak bytes numpy and Python allocate in one 30-day baseline run of ``size`` people."""
    scenario = baseline_with(
        market__size=size,
        market__initial_public=size // 20,
        sim__days=30,
        referral__network=network,
        budget__per_day_yuan=0.02 * size,
        platforms__tmall__daily_cap=0.0003 * size,
    )
    tracemalloc.start()
    try:
        simulate(scenario, seed=2)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("network", ["mixed", "small_world"])
def test_estimate_per_person_covers_what_a_run_allocates(network):
    """The per-person figure (benchmark: 0.1M–4M) covers a run at other sizes, by at most 15%."""
    small, large = 100_000, 300_000
    slope = (_allocated(large, network) - _allocated(small, network)) / (large - small)
    degree = None if network == "mixed" else 10
    estimate = run_bytes(1, graph_degree=degree)
    assert 0.85 * estimate <= slope <= estimate


def test_a_market_too_big_for_the_memory_is_refused_with_what_would_fit(
    small_machine, tmp_path, capsys
):
    code = model.cli.main(
        ["run", str(SMALL), "--set", "market.size=200000000", "--out", str(tmp_path / "o")]
    )
    err = capsys.readouterr().err
    need = resources.PROCESS_BYTES + run_bytes(200_000_000)
    assert code == 2, err
    assert f"needs ≈ {resources.gb(need)}" in err
    assert "this machine has 24 GB, of which 4.0 GB is available" in err
    fit = (4 * GB - resources.PROCESS_BYTES) // resources.BYTES_PER_PERSON
    assert f"market.size ≤ {resources._round_down(fit):,}" in err
    assert list(tmp_path.iterdir()) == []


def test_compare_counts_the_results_it_keeps(small_machine, tmp_path, capsys):
    # 3 strategies × 10,000 replicates × 120 days of daily tables: ≈ 19 GB held.
    code = model.cli.main(
        [
            "compare",
            str(DATA / "compare" / "small.toml"),
            "--replicates",
            "10000",
            "--workers",
            "1",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2, err
    # 3 × 120 days × 5.3 KB = 1.9 MB per replicate; 3.84 GB free after the process: ≤ 2,000.
    assert "of results kept in memory" in err and "Use --replicates 2,000 or fewer" in err
    assert list(tmp_path.iterdir()) == []


def test_compare_replicates_are_capped(tmp_path, capsys):
    code = model.cli.main(
        [
            "compare",
            str(DATA / "compare" / "small.toml"),
            "--replicates",
            "100000000",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "from 1 to 10,000" in err
    assert list(tmp_path.iterdir()) == []


def test_sweep_checks_its_largest_point(small_machine, tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text(
        f'scenario = "{SMALL.as_posix()}"\n[sweep]\n"market.size" = [20000, 100000000]\n'
    )
    code = model.cli.main(["sweep", str(spec), "--workers", "2", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "market.size = 100,000,000" in err and "× 2 runs at once" in err
    assert "Use market.size ≤ 13,000,000" in err  # (4 GB − 3 processes) / 2 runs / 128 B
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


def test_workers_are_advised_when_one_run_at_a_time_fits():
    with pytest.raises(resources.InputError, match=r"market.size ≤ 12,000,000 or --workers 1"):
        resources.check_memory(
            what="x",
            size=20_000_000,
            per_run=run_bytes(20_000_000),
            parallel=2,
            memory=Memory(8 * GB, 3.8 * GB),
        )


def test_a_plan_that_fits_is_not_refused():
    resources.check_memory(
        what="x", size=20_000, per_run=run_bytes(20_000), memory=Memory(8 * GB, 1 * GB)
    )
