"""Plots a strategist reads without help: one quantity per axis, units, labels, colour direction.

Asserts on the matplotlib objects (axes, labels, tick texts, bar widths, colours), not pixels.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import matplotlib.pyplot as plt  # the Agg backend: tests/conftest.py
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from model import load_scenario, plots, simulate
from model.sweep import plots as sweep_plots

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "tests" / "data" / "scenarios" / "small.toml"


@pytest.fixture(scope="module")
def daily() -> pd.DataFrame:
    return simulate(load_scenario(SMALL, {"sim.days": 60}), seed=3).daily


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def renderer(fig):
    """Draw the figure (on an Agg canvas: sweep figures are built without pyplot)."""
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def tick_texts(axis) -> list[str]:
    renderer(axis.figure)
    return [t.get_text() for t in axis.get_ticklabels() if t.get_text()]


def test_contribution_is_two_panels_one_quantity_each(daily):
    top, bottom = plots.contribution(daily)
    fig = top.figure
    assert len(fig.axes) == 2  # no twin axis
    assert top.get_ylabel() == "contribution a day"
    assert bottom.get_ylabel() == "contribution since day 0"
    for ax in (top, bottom):
        texts = tick_texts(ax.yaxis)
        assert texts and all("¥" in t for t in texts), texts
        assert ax.yaxis.get_offset_text().get_text() == ""  # no "1e6" offset
    # The cumulative line is the cumulative contribution, on its own axis.
    (line,) = bottom.get_lines()[:1]
    np.testing.assert_allclose(line.get_ydata(), daily["cum_contribution"])
    # The zero line is on both panels (y = 0 drawn), so each reads from its own zero.
    for ax in (top, bottom):
        assert any(np.all(np.asarray(h.get_ydata()) == 0) for h in ax.get_lines())


def test_cost_breakdown_shows_platform_fees_and_every_cost_line(daily):
    ax = plots.cost_breakdown(daily)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    table = plots.cost_totals(daily)
    assert labels == list(table["label"])
    assert labels[0].startswith("Platform fees") and "take rate" in labels[0]
    commission = next(label for label in labels if "ommission" in label)
    assert "not the platform" in commission
    assert {"cost_ad", "cost_retargeting", "cost_discount", "cost_incentive", "cost_staff",
            "cost_messaging", "cost_cards", "platform_fees"} <= set(table["line"])  # fmt: skip
    widths = [patch.get_width() for patch in ax.patches]
    expected = [float(daily[line].sum()) for line in table["line"]]
    np.testing.assert_allclose(widths, expected)
    assert expected[0] > 0  # platform fees are paid in this run
    assert all("¥" in t for t in tick_texts(ax.xaxis))
    # Each bar is written out in ¥ with its share, so small lines are readable next to ads.
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == len(table) and all(t.startswith(("¥", "−¥")) for t in texts)
    assert texts[0].endswith("%")


def test_customers_plot_says_what_each_state_means_and_shows_dormant_apart(daily):
    ax = plots.customers_by_domain(daily)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("lapsed: ex-member") for t in legend)
    assert any(t.startswith("public: bought on a platform, not a member") for t in legend)
    assert any("dormant" in t and "any domain" in t for t in legend)
    (dormant_line,) = ax.get_lines()
    expected = daily["n_public"] + daily["n_private"] + daily["n_lapsed"] - daily["n_active"]
    np.testing.assert_allclose(dormant_line.get_ydata(), expected)
    assert expected.iloc[-1] > 0  # some customers have stopped buying by day 60


def test_result_plot_panels_do_not_collide(daily):
    fig = plots.run_overview(daily, title="small")
    assert len(fig.axes) == 4
    drawn = renderer(fig)
    boxes = [ax.get_tightbbox(drawn) for ax in fig.axes]
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)


def test_run_plots_are_written_and_ignore_a_date_column(daily, tmp_path):
    with_date = daily.assign(date=pd.date_range("2026-01-01", periods=len(daily)))
    written = plots.write_run_plots(with_date, tmp_path)
    assert written == ["customers_by_domain.png", "contribution.png", "cost_breakdown.png"]
    for name in written:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- sweep plots ----------------------------------------------------------------------------------

X, Y = "outreach.pushes_per_week", "diversion.incentive_yuan"


def grid(values: np.ndarray) -> pd.DataFrame:
    xs, ys = [1, 2, 4, 7], [0.0, 3.0, 6.0]
    return pd.DataFrame(
        [{X: x, Y: y, "mean": values[i, j]} for i, y in enumerate(ys) for j, x in enumerate(xs)]
    )


def better_colour(fig, best: float):
    image = fig.axes[0].get_images()[0]
    return image.cmap(image.norm(best))


def test_heatmap_better_end_is_the_same_colour_whatever_the_direction():
    rising = np.arange(12, dtype=float).reshape(3, 4) + 1.0
    higher = sweep_plots.heatmap(grid(rising * 1000), X, Y, "contribution")
    lower = sweep_plots.heatmap(grid(rising), X, Y, "unfollows_per_1000_pushes")
    # Best cell: the largest contribution, the fewest unfollows. Both in the same colour,
    # the top of viridis (yellow); the worst cells share the other end.
    top = plt.get_cmap("viridis")(1.0)
    assert better_colour(higher, rising.max() * 1000) == pytest.approx(top)
    assert better_colour(lower, rising.min()) == pytest.approx(top)
    assert better_colour(lower, rising.max()) == pytest.approx(plt.get_cmap("viridis")(0.0))
    # The colour bar says where "better" is.
    for fig in (higher, lower):
        assert any(t.get_text() == "better" for t in fig.axes[1].texts)


def test_heatmap_cells_in_units_and_axes_by_registry_label():
    values = np.linspace(150_000, 480_000, 12).reshape(3, 4)
    fig = sweep_plots.heatmap(grid(values), X, Y, "contribution")
    ax = fig.axes[0]
    cells = [t.get_text() for t in ax.texts]
    assert len(cells) == 12 and all(re.fullmatch(r"¥\d+(\.\d+)?k", c) for c in cells), cells
    bar_ticks = tick_texts(fig.axes[1].yaxis)
    assert bar_ticks and all(t.startswith("¥") and "e+" not in t for t in bar_ticks), bar_ticks
    assert ax.get_xlabel().startswith("Mass messages a week") and "." not in ax.get_xlabel()
    assert ax.get_ylabel().startswith("Red packet paid on joining") and "[yuan]" in ax.get_ylabel()
    assert "(higher is better)" in ax.get_title()


def test_scatter_uses_log_axes_for_log_sampled_parameters_and_labels_do_not_overlap():
    rng = np.random.default_rng(0)
    params = [
        "outreach.p_unfollow_base",
        "diversion.p_join_max",
        "platforms.tmall.cac_inflation_per_year",
        "behaviour.rel_rate_private",
    ]
    table = pd.DataFrame(
        {
            "outreach.p_unfollow_base": np.exp(rng.uniform(np.log(0.001), np.log(0.02), 16)),
            "diversion.p_join_max": rng.uniform(0.05, 0.3, 16),
            "platforms.tmall.cac_inflation_per_year": rng.uniform(0, 0.4, 16),
            "behaviour.rel_rate_private": rng.uniform(1, 1.6, 16),
        }
    )
    table["mean"] = 400_000 - 1e7 * table["outreach.p_unfollow_base"]
    fig = sweep_plots.scatter(table, params, "contribution", logs={"outreach.p_unfollow_base"})
    axes = [ax for ax in fig.axes if ax.get_visible()]
    scales = {ax.get_xlabel().split("\n")[0]: ax.get_xscale() for ax in axes}
    assert scales.pop(next(k for k in scales if k.startswith("P(unfollow)"))) == "log"
    assert set(scales.values()) == {"linear"}
    log_ticks = tick_texts(axes[0].xaxis) + [
        t.get_text() for t in axes[0].xaxis.get_minorticklabels() if t.get_text()
    ]
    assert "0.01" in log_ticks and all("10^" not in t and "$" not in t for t in log_ticks)
    # The KPI falls with the unfollow rate in ranks exactly: ρ = −1 in that panel's title.
    assert axes[0].get_title() == "Spearman ρ = −1.00"
    drawn = renderer(fig)
    labels = [ax.xaxis.label.get_window_extent(drawn) for ax in axes]
    for a, b in itertools.combinations(labels, 2):
        assert not a.overlaps(b)
    for ax in axes:  # no label runs wider than its panel
        assert ax.xaxis.label.get_window_extent(drawn).width <= ax.bbox.width


def test_sensitivity_bars_are_labelled_by_registry_and_morris_in_the_kpis_unit(
    tmp_path, monkeypatch
):
    params = ["diversion.p_join_max", "outreach.p_unfollow_base", "dummy"]
    rows = [
        {"method": "morris", "metric": "contribution", "index": "mu_star", "parameter": p,
         "value": v, "conf": 1000.0}
        for p, v in zip(params, (21_000.0, 15_000.0, 9_000.0), strict=True)
    ] + [
        {"method": "sobol", "metric": "contribution", "index": "ST", "parameter": p,
         "value": v, "conf": 0.1}
        for p, v in zip(params, (0.6, 0.3, 0.05), strict=True)
    ]  # fmt: skip
    seen = {}
    original = sweep_plots._save

    def keep(fig, path):
        seen["fig"] = fig
        return original(fig, path)

    monkeypatch.setattr(sweep_plots, "_save", keep)
    sweep_plots.sensitivity_plot(pd.DataFrame(rows), "contribution", tmp_path / "s.png")
    sobol, morris = seen["fig"].axes
    names = [t.get_text() for t in morris.get_yticklabels()]
    assert names[-1].startswith("P(join) with an unlimited red packet")  # largest bar on top
    assert "dummy: the seed (noise floor)" in names
    ticks = tick_texts(morris.xaxis)
    assert ticks and all("¥" in t and "e+" not in t for t in ticks), ticks
    assert "variance" in sobol.get_xlabel()
    assert (tmp_path / "s.png").stat().st_size > 0


def test_a_ban_is_shaded_over_its_days():
    ban = [{"kind": "ban", "platform": "*", "day": 10, "duration_days": 5}]
    daily = simulate(load_scenario(SMALL, {"sim.days": 30, "shocks": ban}), seed=3).daily
    assert plots.ban_spans(daily) == [(10, 14)]
    top, _ = plots.contribution(daily)
    legend = [t.get_text() for t in top.get_legend().get_texts()]
    assert "platform ban" in legend
    (shade,) = [p for p in top.patches if p.get_label() == "platform ban"]
    box = shade.get_window_extent().transformed(top.transData.inverted())
    assert (box.x0, box.x1) == pytest.approx((9.5, 14.5))


def test_the_cost_view_covers_every_ledger_cost_line():
    from model.ledger import COST_LINES

    shown = [*plots.PLATFORM_COSTS, *plots.PRIVATE_COSTS]
    assert sorted(shown) == sorted(["platform_fees", *COST_LINES])
