"""Uncertainty in every comparison: what is drawn, from where, how, and what is stated instead."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import model.cli
from model.compare import load_comparison
from model.errors import InputError
from model.experiment.uncertainty import draw_seed
from model.scenario.params import parameter, uncertain

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
MAIN = ROOT / "scenarios" / "compare_operating_modes.toml"


def comparison(
    tmp_path: Path, *, uncertainty: str = "", market: str = "", persona: str = "", draws: int = 6
) -> Path:
    """A two-strategy comparison on a small market with the given extra tables."""
    path = tmp_path / "c.toml"
    path.write_text(
        f'reference = "none"\ndraws = {draws}\nreplicates = 1\nroot_seed = 3\n'
        f'[market]\nbase = "{BASELINE.as_posix()}"\n[market.set]\n"market.size" = 20_000\n'
        f'"market.initial_public" = 1_000\n"sim.days" = 60\n{market}\n'
        f"[uncertainty]\n{uncertainty}\n"
        '[[strategies]]\nname = "none"\nset = { "operation.mode" = "none" }\n'
        f'[[strategies]]\nname = "persona"\n[strategies.set]\n{persona}\n'
    )
    return path


def _unit(key: str, values: np.ndarray, low: float, high: float, log: bool) -> np.ndarray:
    if log:
        return (np.log(values) - np.log(low)) / (np.log(high) - np.log(low))
    return (values - low) / (high - low)


def test_draws_are_a_latin_hypercube_over_the_registry_ranges_on_their_scales():
    """Draws are a Latin hypercube over the registry's ranges, on the registry's scales.

    Each float parameter has exactly one draw in each of K equal strata of its range (log
    strata where the registry samples on a log scale); integers stay whole and in range.
    """
    spec = load_comparison(MAIN, draws=12)
    table = spec.draw_table
    assert len(table) == 12 and list(table["draw"]) == list(range(12))
    registry = {p.key: p for p in uncertain(spec.strategies[0].scenario)}
    for drawn in spec.uncertainty.drawn:
        r = drawn.range
        values = table[r.key].to_numpy()
        assert values.min() >= r.low and values.max() <= r.high, r.key
        if r.integer:
            assert all(float(v).is_integer() for v in values)
            continue
        strata = np.floor(12 * _unit(r.key, values.astype(float), r.low, r.high, r.log))
        assert sorted(strata) == list(range(12)), r.key
        if drawn.origin == "registry":
            assert (r.low, r.high) == registry[r.key].range and r.log == registry[r.key].log
    # The mode-specific guesses come from the file's ranges, with the file's source.
    by_key = {d.key: d for d in spec.uncertainty.drawn}
    assert by_key["operation.rel_referral_distribution"].origin == "file"
    assert (
        by_key["operation.rel_referral_distribution"].range.low,
        by_key["operation.rel_referral_distribution"].range.high,
    ) == (1.0, 4.0)
    assert "KOCs invite" in by_key["operation.rel_referral_distribution"].source
    assert by_key["outreach.p_response"].range.log and by_key["outreach.p_response"].origin == (
        "registry"
    )


def test_draws_follow_the_root_seed_only():
    """The same root seed gives the same draws and draw seeds; another seed, others."""
    a = load_comparison(MAIN, draws=5).draw_table
    b = load_comparison(MAIN, draws=5).draw_table
    c = load_comparison(MAIN, draws=5, root_seed=99).draw_table
    assert a.equals(b)
    assert not np.allclose(a["outreach.p_response"], c["outreach.p_response"])
    assert list(a["seed"]) == [draw_seed(20260101, d) for d in range(5)]
    assert all(0 <= s < 2**63 for s in a["seed"])


def test_stated_values_are_facts_not_draws(tmp_path, capsys):
    """A stated value is a fact, not a draw; a file's range replaces the registry's.

    [market] set, --set, a strategy's set and an [uncertainty] value are not drawn; a file
    range replaces the registry's, with its source; the report and provenance say where.
    """
    path = comparison(
        tmp_path,
        market='"outreach.p_response" = 0.01',
        persona='"market.gross_margin" = 0.5',
        uncertainty='"behaviour.gg_gamma" = { value = 60.0, source = "order export 2026" }\n'
        '"diversion.p_join_max" = { low = 0.1, high = 0.2, source = "fit-orders 2026-10" }\n'
        '"market.initial_p_active" = 0.7\n',
    )
    spec = load_comparison(path, market_overrides={"platforms.tmall.take_rate": 0.04})
    drawn = {d.key: d for d in spec.uncertainty.drawn}
    stated = {(s.key, s.where): s for s in spec.uncertainty.stated}
    for key in (
        "outreach.p_response",
        "market.gross_margin",
        "behaviour.gg_gamma",
        "market.initial_p_active",
        "platforms.tmall.take_rate",
    ):
        assert key not in drawn and key not in spec.draw_table, key
    assert stated[("outreach.p_response", "[market] set")].value == 0.01
    assert stated[("market.gross_margin", "strategy 'persona'")].value == 0.5
    assert stated[("behaviour.gg_gamma", "[uncertainty]")].source == "order export 2026"
    assert stated[("platforms.tmall.take_rate", "--set")].value == 0.04
    # An [uncertainty] value is applied to every strategy's market; a strategy's own to itself.
    for s in spec.strategies:
        assert s.scenario.behaviour.gg_gamma == 60.0
        assert s.scenario.market.initial_p_active == 0.7
    assert spec.strategy("persona").scenario.market.gross_margin == 0.5
    assert (
        spec.strategy("none").scenario.market.gross_margin
        == parameter("market.gross_margin").default
    )
    p_join = drawn["diversion.p_join_max"]
    assert (p_join.range.low, p_join.range.high, p_join.origin, p_join.source) == (
        0.1,
        0.2,
        "file",
        "fit-orders 2026-10",
    )
    assert spec.draw_table["diversion.p_join_max"].between(0.1, 0.2).all()

    out = tmp_path / "out"
    assert (
        model.cli.main(
            [
                "compare",
                str(path),
                "--workers",
                "1",
                "--no-plots",
                "--set",
                "platforms.tmall.take_rate=0.04",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    report = (out / "report.html").read_text(encoding="utf-8")
    for needle in (
        "fit-orders 2026-10",
        "order export 2026",
        "strategy &#x27;persona&#x27;",
        "--set",
        "Stated, not drawn",
        "registry (grade D)",
    ):
        assert needle in report, needle
    provenance = json.loads((out / "provenance.json").read_text())
    assert {
        "key": "diversion.p_join_max",
        "low": 0.1,
        "high": 0.2,
        "log": False,
        "from": "file",
        "source": "fit-orders 2026-10",
    } in provenance["drawn"]
    assert len(provenance["drawn"]) == len(spec.uncertainty.drawn)


def test_a_file_may_widen_a_range_and_draw_a_market_parameter_the_registry_does_not():
    """A file may widen a range, within what the schema allows.

    p_response wider than the registry's; a market parameter with no registry range needs
    both ends.
    """
    from model.experiment.spec import UncertaintyEntry
    from model.experiment.uncertainty import resolve_uncertainty

    market = load_comparison(MAIN).strategies[0].scenario
    wide = resolve_uncertainty(
        {"outreach.p_response": UncertaintyEntry(low=0.001, high=0.1)},
        market,
        {},
        draws=4,
        enabled=True,
        src="x",
    )
    p = next(d for d in wide.drawn if d.key == "outreach.p_response")
    assert (p.range.low, p.range.high, p.range.log) == (0.001, 0.1, True)
    assert parameter("market.initial_public").range is None
    extra = resolve_uncertainty(
        {"market.initial_public": UncertaintyEntry(low=10_000, high=90_000)},
        market,
        {},
        draws=4,
        enabled=True,
        src="x",
    )
    initial = next(d for d in extra.drawn if d.key == "market.initial_public")
    assert initial.range.integer and initial.origin == "file"
    values = extra.table(1)["market.initial_public"]
    assert values.between(10_000, 90_000).all() and values.dtype.kind == "i"
    with pytest.raises(InputError, match="gives no plausible range for it, so give both"):
        resolve_uncertainty(
            {"market.initial_public": UncertaintyEntry(low=10_000)},
            market,
            {},
            draws=4,
            enabled=True,
            src="x",
        )


def test_without_draws_nothing_is_drawn_but_the_file_is_still_checked(tmp_path):
    """--no-uncertainty: one market; a bad [uncertainty] range is still an error."""
    path = comparison(tmp_path, uncertainty='"outreach.p_response" = { low = 0.2, high = 0.1 }')
    with pytest.raises(InputError, match="low = 0.2 must be below high = 0.1"):
        load_comparison(path, uncertainty=False)
    ok = comparison(tmp_path)
    spec = load_comparison(ok, uncertainty=False)
    assert spec.draws == 1 and list(spec.draw_table.columns) == ["draw", "seed"]


def test_a_file_that_states_every_uncertain_parameter_says_so(tmp_path):
    """Nothing left to draw is an error that names the way out (--no-uncertainty)."""
    every = "\n".join(f'"{p.key}" = {p.default!r}' for p in uncertain())
    path = comparison(tmp_path, market=every.replace("platforms.*.", "platforms.tmall."))
    with pytest.raises(InputError, match="no uncertain market parameter is left to draw"):
        load_comparison(path)
    assert load_comparison(path, uncertainty=False).draws == 1
