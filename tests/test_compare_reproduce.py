"""Every run of a comparison re-runs exactly from its strategy file (issue 13)."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import pandas as pd
import pytest

import model.cli

DATA = Path(__file__).parent / "data" / "compare"
SMALL = DATA / "small.toml"


def _same(expected: pd.Series, got: dict) -> list[str]:
    """KPIs of ``got`` that differ from the row ``expected`` (NaN matches None)."""
    bad = []
    for kpi, value in got.items():
        if kpi not in expected or kpi == "provenance":
            continue
        want = expected[kpi]
        if value is None:
            if not (isinstance(want, float) and math.isnan(want)):
                bad.append(kpi)
        elif float(value) != float(want):
            bad.append(kpi)
    return bad


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """A small comparison with 2 draws × 2 replicates, written to disk."""
    out = tmp_path_factory.mktemp("cmp") / "cmp"
    assert (
        model.cli.main(
            [
                "compare",
                str(SMALL),
                "--workers",
                "1",
                "--draws",
                "2",
                "--replicates",
                "2",
                "--no-plots",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    return out


@pytest.mark.parametrize(
    ("strategy", "draw", "replicate"), [("persona", 1, 1), ("public_only", 0, 0), ("guides", 1, 0)]
)
def test_a_cell_re_runs_exactly_from_its_strategy_file(
    compared, tmp_path, capsys, strategy, draw, replicate
):
    """``run.py run S.toml --draw draws.csv:d --replicate i`` gives that run's KPIs exactly.

    To the last bit, as the file's header says.
    """
    path = compared / "scenarios" / f"{strategy}.toml"
    text = path.read_text(encoding="utf-8")
    assert f"--draw {compared}/draws.csv:0 --replicate 1" in text  # the header's example
    assert tomllib.loads(text)["name"] == strategy  # the strategy's name, not the comparison's
    out = tmp_path / "run"
    assert (
        model.cli.main(
            [
                "run",
                str(path),
                "--draw",
                f"{compared}/draws.csv:{draw}",
                "--replicate",
                str(replicate),
                "--no-plots",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    kpis = pd.read_csv(compared / "kpis.csv")
    row = kpis[
        (kpis["strategy"] == strategy) & (kpis["draw"] == draw) & (kpis["replicate"] == replicate)
    ].iloc[0]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["provenance"]["seed_sequence"] == row["seed"]
    assert _same(row, summary) == []
    assert f"replicate {replicate}" in printed


def test_a_noise_only_replicate_re_runs_with_replicate_alone(tmp_path, capsys):
    """Without draws, sim.seed is the root seed and --replicate i picks replicate i."""
    out = tmp_path / "cmp"
    assert (
        model.cli.main(
            [
                "compare",
                str(SMALL),
                "--workers",
                "1",
                "--replicates",
                "2",
                "--no-plots",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    text = (out / "scenarios" / "guides.toml").read_text(encoding="utf-8")
    assert "--draw" not in text and tomllib.loads(text)["sim"]["seed"] == 7
    run_out = tmp_path / "run"
    assert (
        model.cli.main(
            [
                "run",
                str(out / "scenarios" / "guides.toml"),
                "--replicate",
                "1",
                "--no-plots",
                "--out",
                str(run_out),
            ]
        )
        == 0
    )
    kpis = pd.read_csv(out / "kpis.csv")
    row = kpis[(kpis["strategy"] == "guides") & (kpis["replicate"] == 1)].iloc[0]
    summary = json.loads((run_out / "summary.json").read_text())
    assert row["seed"] == "7/1" and summary["provenance"]["seed_sequence"] == "7/1"
    assert _same(row, summary) == []
    capsys.readouterr()


@pytest.mark.parametrize(
    ("draw", "message"),
    [
        ("nope.csv:1", "cannot read"),
        ("{out}/draws.csv:9", "has no draw 9"),
        ("{out}/draws.csv", "expected PATH:ROW"),
    ],
)
def test_a_bad_draw_is_a_message(compared, tmp_path, capsys, draw, message):
    """--draw names a file and a row; anything else is exit 2 with nothing written."""
    code = model.cli.main(
        [
            "run",
            str(compared / "scenarios" / "persona.toml"),
            "--draw",
            draw.format(out=compared),
            "--out",
            str(tmp_path / "r"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()
