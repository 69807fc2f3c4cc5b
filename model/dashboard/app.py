"""The page: Bokeh widgets and plots for one browser tab, driven by the adapter.

One :class:`Dashboard` per browser tab (Bokeh builds a fresh document per session), holding its
own controls, its own background job and its own results: two tabs never share a run. The class
works without a server too (``Dashboard(study)`` then ``poll()``), which is how the component
tests drive it.
"""

from __future__ import annotations

import html
import time
from pathlib import Path
from typing import Any

from bokeh.layouts import column, row
from bokeh.models import (
    Button,
    Checkbox,
    ColumnDataSource,
    Div,
    NumericInput,
    Select,
    Spinner,
    TextInput,
)
from bokeh.plotting import figure

from model.dashboard import adapter
from model.dashboard.jobs import CANCELLED, DONE, FAILED, RUNNING, Job
from model.errors import InputError

POLL_MS = 100
# Plain CSS text, not a stylesheet model: a Bokeh model belongs to one document (one tab).
CSS = """
:host { font-family: system-ui, sans-serif; font-size: 14px; }
table { border-collapse: collapse; margin: 4px 0 8px 0; }
th, td { padding: 3px 8px; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f4f4f4; }
td.selected, th.selected { background: #e8f0fe; }
tr.minimax td { font-weight: 600; }
ul.verdict { margin: 2px 0 6px 0; padding-left: 18px; }
details { margin: 4px 0; }
.muted { color: #666; font-size: 12px; }
.error { color: #b00020; white-space: pre-wrap; }
.ok { color: #1b5e20; }
"""
COLOURS = {"n_public": "#1f77b4", "n_private": "#2ca02c", "n_lapsed": "#d62728"}


class Dashboard:
    """The controls, run state and results of one tab.

    Args:
        study: the file the dashboard was opened on (``adapter.load_study``).
        doc: the Bokeh document of the tab; None in tests (call :meth:`poll` yourself).
        save_folder: where "Save as scenario" proposes to write.
        workers: processes a run's simulations go to (None: every core).
    """

    def __init__(
        self,
        study: adapter.Study,
        doc: Any = None,
        save_folder: str | Path = "out/dashboard",
        workers: int | None = None,
    ):
        self.study = study
        self.workers = workers
        self.doc = doc
        self.save_folder = Path(save_folder)
        self.job: Job | None = None
        self.result: adapter.RunResult | None = None
        self._poll_callback = None
        self._started = 0.0
        self.click_to_results_s: float | None = None

        first = study.names[0] if study.kind == "scenario" else _first_non_reference(study)
        self.strategy_select = Select(
            title="Strategy to edit",
            value=first,
            options=study.names,
            width=320,
            css_classes=["strategy-select"],
        )
        self.strategy_select.on_change("value", lambda attr, old, new: self.select_strategy(new))
        self.strategies_div = Div(css_classes=["strategies"], stylesheets=[CSS])
        self.lever_box = column(sizing_mode="stretch_width")
        self.controls: dict[str, Any] = {}
        self.levers: list[adapter.Lever] = []

        self.size_select = Select(title="Run size", width=320, css_classes=["run-size"])
        self.size_note = Div(
            text="<div class='muted'>A faithful miniature (<code>market.scale</code>, as "
            "<code>run.py run/compare --scale</code>): people, ad budgets, daily caps, staff "
            "capacities and fixed costs shrink together, so per-person KPIs (ROI, repurchase, "
            "shares) match the full market within noise; ¥ and people totals are the "
            "miniature's own (about that fraction of the full market's).</div>",
            stylesheets=[CSS],
            width=320,
        )
        self.draw_toggle = Checkbox(
            label="Draw the uncertain market (plausible ranges of run.py params)",
            active=True,
            width=320,
            css_classes=["draw-toggle"],
        )
        self.draw_toggle.on_change("active", lambda attr, old, new: self._toggle_draws(new))
        self.draws_input = Spinner(
            title="Draws",
            low=2,
            high=adapter.MAX_DRAWS,
            step=1,
            value=adapter.DEFAULT_DRAWS,
            width=100,
            css_classes=["draws"],
        )
        self.replicates_input = Spinner(
            title="Replicates per draw",
            low=1,
            high=adapter.MAX_REPLICATES,
            step=1,
            value=adapter.DEFAULT_REPLICATES,
            width=120,
            css_classes=["replicates"],
        )
        self.seed_input = NumericInput(
            title="Seed", mode="int", low=0, value=study.seed, width=90, css_classes=["seed"]
        )
        self.others_toggle = Checkbox(
            label="With the file's other strategies (for P(best) and regret)",
            active=True,
            visible=study.kind == "comparison" and len(study.names) > 2,
            width=320,
            css_classes=["others-toggle"],
        )
        self.run_button = Button(
            label="Run", button_type="primary", width=100, css_classes=["run-button"]
        )
        self.cancel_button = Button(
            label="Cancel", disabled=True, width=100, css_classes=["cancel-button"]
        )
        self.reset_button = Button(label="File's values", width=110, css_classes=["reset-button"])
        self.run_button.on_click(self.run)
        self.cancel_button.on_click(self.cancel)
        self.reset_button.on_click(lambda: self.select_strategy(self.strategy_select.value))
        self.status = Div(css_classes=["status"], stylesheets=[CSS], width=320)

        self.save_path = TextInput(
            title="Save as scenario (file on this computer)", width=320, css_classes=["save-path"]
        )
        self.save_button = Button(label="Save as scenario", width=150, css_classes=["save-button"])
        self.save_button.on_click(self.save)
        self.save_status = Div(css_classes=["save-status"], stylesheets=[CSS], width=320)

        self.results_div = Div(
            text="<p class='muted'>Press Run to compare the edited strategy with the file's "
            "strategies and the reference.</p>",
            css_classes=["results"],
            stylesheets=[CSS],
            min_width=640,
        )
        self.domains_source = ColumnDataSource(_empty_domains())
        self.contribution_source = ColumnDataSource(_empty_contribution())
        self.domains_plot = _domains_figure(self.domains_source)
        self.contribution_plot = _contribution_figure(self.contribution_source)

        header = Div(
            text=f"<h2 style='margin:4px 0'>sidomain dashboard: {html.escape(study.name)}</h2>"
            f"<div class='muted'>{html.escape(str(study.path))} · {html.escape(study.description)}"
            f" · reference: <b>{html.escape(study.reference)}</b></div>",
            stylesheets=[CSS],
            sizing_mode="stretch_width",
        )
        left = column(
            self.strategy_select,
            self.lever_box,
            self.size_select,
            self.size_note,
            self.draw_toggle,
            row(self.draws_input, self.replicates_input, self.seed_input),
            self.others_toggle,
            row(self.run_button, self.cancel_button, self.reset_button),
            self.status,
            self.save_path,
            self.save_button,
            self.save_status,
            width=340,
        )
        self.verdict_div = Div(
            css_classes=["verdict"], stylesheets=[CSS], min_width=640, sizing_mode="stretch_width"
        )
        right = column(
            self.strategies_div,
            self.results_div,
            self.verdict_div,
            row(self.domains_plot, self.contribution_plot),
        )
        self.layout = column(header, row(left, right), css_classes=["dashboard"])
        self.select_strategy(first)
        if doc is not None:
            doc.title = f"sidomain: {study.name}"
            doc.add_root(self.layout)
            doc.on_session_destroyed(lambda _context: self.cancel())

    # --- controls ----------------------------------------------------------------------------

    def select_strategy(self, name: str) -> None:
        """Show the strategy's levers with the file's values and the schema's bounds."""
        if self.strategy_select.value != name:
            self.strategy_select.value = name  # fires this again through on_change
            return
        scenario = self.study.strategy(name).scenario
        self.levers = adapter.levers_for(scenario)
        values = adapter.lever_values(scenario, self.levers)
        self.controls = {lever.key: _control(lever, values[lever.key]) for lever in self.levers}
        self.lever_box.children = list(self.controls.values())
        scales = [(str(i), adapter.scale_label(scenario, s)) for i, s in enumerate(adapter.SCALES)]
        self.size_select.options = scales
        if self.size_select.value not in {v for v, _ in scales}:
            self.size_select.value = "0"
        self.save_path.value = str(adapter.default_save_path(self.study, name, self.save_folder))
        self.strategies_div.text = self._strategies_table(name)
        self._message(self.status, "", "")

    def values(self) -> dict[str, Any]:
        """The controls' current values by dotted key."""
        return {key: widget.value for key, widget in self.controls.items()}

    def _toggle_draws(self, on: bool) -> None:
        """Draws on or off; the replicates' default follows (the same number of runs)."""
        self.draws_input.disabled = not on
        if on and self.replicates_input.value == adapter.DEFAULT_NOISE_REPLICATES:
            self.replicates_input.value = adapter.DEFAULT_REPLICATES
        elif not on and self.replicates_input.value == adapter.DEFAULT_REPLICATES:
            self.replicates_input.value = adapter.DEFAULT_NOISE_REPLICATES
        self.replicates_input.title = "Replicates per draw" if on else "Replicates"

    @property
    def scale(self) -> float:
        """The chosen run size as a fraction of the file's market."""
        return adapter.SCALES[int(self.size_select.value)]

    # --- running -----------------------------------------------------------------------------

    def run(self) -> None:
        """Validate the controls and start a run in the background (one at a time per tab)."""
        if self.job is not None and self.job.state == RUNNING:
            return
        try:
            request = adapter.prepare_run(
                self.study,
                self.strategy_select.value,
                self.values(),
                scale=self.scale,
                seed=_as_int(self.seed_input.value),
                draws=_as_int(self.draws_input.value) if self.draw_toggle.active else 0,
                replicates=_as_int(self.replicates_input.value),
                others=self.others_toggle.active,
                workers=self.workers,
            )
        except InputError as err:
            self._message(self.status, str(err), "error", state="invalid")
            return
        self._started = time.perf_counter()
        self.job = Job(adapter.execute, request)
        self.run_button.disabled = True
        self.cancel_button.disabled = False
        self._progress()
        if self.doc is not None:
            self._poll_callback = self.doc.add_periodic_callback(self.poll, POLL_MS)

    def poll(self) -> None:
        """Move progress forward; show the results when the run is done."""
        job = self.job
        if job is None or not job.poll():
            return
        if job.state == RUNNING:
            self._progress()
            return
        self._stop_polling()
        if job.state == DONE:
            self.click_to_results_s = time.perf_counter() - self._started
            self.show(job.result)
        elif job.state == FAILED:
            self._message(self.status, job.error or "the run failed", "error", state="failed")

    def cancel(self) -> None:
        """Stop the running job now (its process is killed)."""
        if self.job is None or self.job.state != RUNNING:
            return
        self.job.cancel()
        self._stop_polling()
        self._message(self.status, "Cancelled: the run was stopped.", "muted", state=CANCELLED)

    def _stop_polling(self) -> None:
        self.run_button.disabled = False
        self.cancel_button.disabled = True
        if self._poll_callback is not None and self.doc is not None:
            self.doc.remove_periodic_callback(self._poll_callback)
        self._poll_callback = None

    def _progress(self) -> None:
        job = self.job
        total = job.total or 0
        bar = f"<progress value='{job.done}' max='{max(total, 1)}'></progress>"
        text = f"Running: {job.done} of {total} runs" if total else "Starting…"
        self.status.text = f"<div data-state='running'>{bar} {text}</div>"

    # --- results -----------------------------------------------------------------------------

    def show(self, result: adapter.RunResult) -> None:
        """Render a finished run: the KPI table against the reference and both plots."""
        self.result = result
        self.results_div.text = _results_table(result)
        self.verdict_div.text = _verdict_html(result)
        self.domains_source.data = _domains_data(result)
        self.contribution_source.data = _contribution_data(result)
        took = self.click_to_results_s
        took_text = f" in {took:.1f} s" if took is not None else ""
        self._message(
            self.status,
            f"Done: {result.n_runs} runs{took_text} (simulation {result.elapsed_s:.1f} s)"
            + (f"; {result.n_failed} failed and are left out." if result.n_failed else "."),
            "ok",
            state=DONE,
        )

    # --- saving ------------------------------------------------------------------------------

    def save(self) -> None:
        """Write the edited strategy, at the chosen run size and seed, as a scenario file."""
        name = self.strategy_select.value
        try:
            scenario = adapter.edited_scenario(
                self.study,
                name,
                self.values(),
                scale=self.scale,
                seed=_as_int(self.seed_input.value),
            )
            path = adapter.save_scenario(
                scenario,
                self.save_path.value.strip(),
                scale=self.scale,
                source=f"{self.study.path} strategy {name!r}",
            )
        except InputError as err:
            self._message(self.save_status, str(err), "error", state="invalid")
            return
        self._message(
            self.save_status,
            f"Saved {path}. Run it: python run.py run {path}",
            "ok",
            state="saved",
        )
        self.save_path.value = str(adapter.default_save_path(self.study, name, self.save_folder))

    # --- helpers -----------------------------------------------------------------------------

    def _message(self, div: Div, text: str, cls: str, *, state: str = "idle") -> None:
        div.text = f"<div data-state='{state}' class='{cls}'>{html.escape(text)}</div>"

    def _strategies_table(self, selected: str) -> str:
        """The file's strategies side by side: each lever's value per strategy."""
        study = self.study
        levers = adapter.levers_for(study.strategy(selected).scenario)
        head = "".join(
            f"<th class='{'selected' if s.name == selected else ''}' "
            f"title='{html.escape(s.description)}'>"
            f"{html.escape(s.name)}{' (reference)' if s.name == study.reference else ''}</th>"
            for s in study.strategies
        )
        rows = []
        for lever in levers:
            cells = []
            for s in study.strategies:
                try:
                    value = adapter.lever_values(s.scenario, [lever])[lever.key]
                except KeyError:  # a platform this strategy does not have
                    value = "–"
                cls = "selected" if s.name == selected else ""
                cells.append(f"<td class='{cls}'>{html.escape(_show(value))}</td>")
            rows.append(f"<tr><td>{html.escape(lever.label)}</td>{''.join(cells)}</tr>")
        return (
            f"<b>Strategies in the file</b><table class='strategies'><tr><th>lever</th>{head}</tr>"
            f"{''.join(rows)}</table>"
        )


# --- module helpers ----------------------------------------------------------------------------


def _first_non_reference(study: adapter.Study) -> str:
    return next((n for n in study.names if n != study.reference), study.names[0])


def _control(lever: adapter.Lever, value: Any):
    css = ["lever", "lever-" + lever.key.replace(".", "-")]
    if lever.is_choice:
        return Select(
            title=lever.title(),
            value=str(value),
            options=list(lever.options),
            width=320,
            css_classes=css,
            description=lever.description or None,
        )
    if lever.integer:
        return NumericInput(
            title=lever.title(),
            value=value,
            mode="int",
            low=lever.low,
            high=lever.high,
            width=320,
            css_classes=css,
        )
    return Spinner(
        title=lever.title(),
        value=value,
        low=lever.low,
        high=lever.high,
        step=lever.step or 1,
        width=320,
        css_classes=css,
        description=lever.description or None,
    )


def _as_int(value: Any) -> Any:
    """A whole-number control's value as an int (other values pass through to be rejected)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() and abs(value) >= 1000 else f"{value:g}"
    return str(value)


def _band(row, prefix: str = "") -> tuple[float, float, float]:
    return (row[f"{prefix}median"], row[f"{prefix}p10"], row[f"{prefix}p90"])


def _interval(row, name: str) -> str:
    """``P [low–high]`` of a share with its 95% interval."""
    p, lo, hi = row[name], row[f"{name}_low"], row[f"{name}_high"]
    if p != p:
        return adapter.NA
    return (
        f"{adapter.percent(p)}<br><span class='muted'>{adapter.percent(lo)}–"
        f"{adapter.percent(hi)}</span>"
    )


def _what_ran(result: adapter.RunResult) -> str:
    people = result.scenario.market.size * result.scale
    size = "full size" if result.scale == 1 else f"1/{round(1 / result.scale)} of the market"
    if result.uncertainty:
        market = (
            f"{result.draws} draws of {len(result.drawn)} uncertain market parameters (Latin "
            f"hypercube over their plausible ranges) × {result.replicates} replicate"
            f"{'s' if result.replicates != 1 else ''} per draw"
        )
    else:
        market = f"the base market only (no draws) × {result.replicates} replicates: noise only"
    return (
        f"{round(people):,} people ({size}) × {result.scenario.sim.days} days; {market}; every "
        f"strategy on the same draws and seeds (root seed {result.seed})"
    )


def _results_table(result: adapter.RunResult) -> str:
    """KPI rows: this seed's run, the strategy's and the reference's bands, the difference."""
    summary = result.summary.set_index(["strategy", "metric"])
    f = adapter.format_kpi
    rows = []
    for kpi in result.kpis:
        own = summary.loc[(result.focus, kpi)]
        ref = summary.loc[(result.reference, kpi)]
        seed_value = result.seed_kpis.get(kpi)
        m, lo, hi = _band(own)
        rm, rlo, rhi = _band(ref)
        dm, dlo, dhi = _band(own, "diff_vs_reference_")
        beats = (
            _interval(own, "p_beats_reference")
            if result.focus != result.reference
            else "(reference)"
        )
        rows.append(
            f"<tr data-kpi='{kpi}'><td>{html.escape(adapter.kpi_label(kpi))}</td>"
            f"<td class='seed-value' data-value='{_raw(seed_value)}'>{f(kpi, seed_value)}</td>"
            f"<td>{f(kpi, m)}<br><span class='muted'>{f(kpi, lo)} … {f(kpi, hi)}</span></td>"
            f"<td>{f(kpi, rm)}<br><span class='muted'>{f(kpi, rlo)} … {f(kpi, rhi)}</span></td>"
            f"<td>{f(kpi, dm, diff=True)}<br><span class='muted'>{f(kpi, dlo, diff=True)} … "
            f"{f(kpi, dhi, diff=True)}</span></td>"
            f"<td class='p-beats'>{beats}</td></tr>"
        )
    band = "<br><span class='muted'>median, 10–90%</span>"
    head = (
        f"<tr><th>KPI</th><th>this seed ({result.seed})<br><span class='muted'>base market"
        f"</span></th>"
        f"<th>{html.escape(result.focus)}{band}</th>"
        f"<th>{html.escape(result.reference)} (reference){band}</th>"
        f"<th>difference<br><span class='muted'>paired, 10–90%</span></th>"
        f"<th>P(better than<br>reference)<br><span class='muted'>95% interval</span></th></tr>"
    )
    return (
        f"<b>Results: {html.escape(result.focus)} against {html.escape(result.reference)}</b> "
        f"<div class='muted'>{html.escape(_what_ran(result))}. Bands and P over cells (draw × "
        f"replicate); 'this seed' = <code>python run.py run</code> on the saved scenario. "
        f"{adapter.NA_LEGEND}.</div>"
        f"<table class='kpis'>{head}{''.join(rows)}</table>"
    )


def _verdict_html(result: adapter.RunResult) -> str:
    """The verdict: per strategy P(best), P(beats), regret, minimax; words; conditions; draws."""
    kpi = result.rank_by
    f = adapter.format_kpi
    rows = result.summary[result.summary["metric"] == kpi]
    ascending = rows["direction"].iloc[0] == "lower"
    rows = rows.sort_values("median", ascending=ascending, na_position="last", kind="stable")
    body = []
    for _, r in rows.iterrows():
        name = r["strategy"]
        minimax = bool(r["minimax_regret"])
        beats = _interval(r, "p_beats_reference") if name != result.reference else "reference"
        body.append(
            f"<tr data-strategy='{html.escape(name)}' class='{'minimax' if minimax else ''}'>"
            f"<td>{html.escape(name)}</td>"
            f"<td>{f(kpi, r['median'])}<br><span class='muted'>{f(kpi, r['p10'])} … "
            f"{f(kpi, r['p90'])}</span></td>"
            f"<td class='p-best' data-value='{r['p_best']!r}'>{_interval(r, 'p_best')}</td>"
            f"<td>{beats}</td>"
            f"<td>{f(kpi, r['regret_mean'])}</td><td>{f(kpi, r['regret_p90'])}</td>"
            f"<td>{'✓ minimax' if minimax else ''}</td></tr>"
        )
    head = (
        f"<tr><th>strategy</th><th>{html.escape(adapter.kpi_label(kpi))}<br>"
        f"<span class='muted'>median, 10–90%</span></th>"
        f"<th>P(best)<br><span class='muted'>95% interval</span></th>"
        f"<th>P(beats {html.escape(result.reference)})<br><span class='muted'>95% interval"
        f"</span></th><th>expected<br>regret</th><th>90th-percentile<br>regret</th>"
        f"<th>minimax<br>regret</th></tr>"
    )
    words = "".join(f"<li>{html.escape(s)}</li>" for s in result.verdict)
    parts = [
        f"<b>Verdict on {html.escape(adapter.kpi_label(kpi))}</b> <span class='muted'>(the "
        "ranking KPI; regret = what choosing a strategy costs against the best strategy of the "
        "same market, on each draw's mean)</span>",
        f"<table class='ranking'>{head}{''.join(body)}</table>",
        f"<ul class='verdict'>{words}</ul>",
    ]
    if result.conditions:
        items = "".join(f"<li>{html.escape(s)}</li>" for s in result.conditions)
        parts.append(
            "<b>What would have to be true</b> <span class='muted'>(where each verdict flips "
            f"over the drawn parameters, by PRIM)</span><ul class='conditions'>{items}</ul>"
        )
    parts.append(_drawn_html(result))
    return "".join(parts)


def _drawn_html(result: adapter.RunResult) -> str:
    """What was drawn, from where, and what was stated instead (a collapsible table)."""
    if not result.uncertainty:
        return (
            "<div class='muted drawn'>Nothing was drawn: every strategy ran on the base market "
            "as the file states it; the P values measure simulation noise only.</div>"
        )
    rows = "".join(
        f"<tr><td>{html.escape(d['label'])}<br><span class='muted'>{html.escape(d['key'])}"
        f"</span></td><td>{d['low']:g} – {d['high']:g}{' (log)' if d['log'] else ''}</td>"
        f"<td style='text-align:left'>{html.escape(d['source'])}</td></tr>"
        for d in result.drawn
    )
    stated = ", ".join(
        f"{s['key']} = {s['value']} ({s['where']})" for s in result.stated if s["key"]
    )
    stated_text = (
        f"<div class='muted'>Stated, not drawn: {html.escape(stated)}</div>" if stated else ""
    )
    return (
        f"<details class='drawn'><summary>What was drawn: {len(result.drawn)} parameters, "
        f"{result.draws} draws (Latin hypercube, seeded from the root seed)</summary>"
        f"<table><tr><th>parameter</th><th>range</th><th>source</th></tr>{rows}</table>"
        f"{stated_text}</details>"
    )


def _raw(value: Any) -> str:
    return "" if value is None else repr(value)


def _empty_domains() -> dict[str, list]:
    data: dict[str, list] = {"day": []}
    for metric in adapter.DOMAIN_SERIES:
        data[metric] = []
        data[metric + "_ref"] = []
    return data


def _empty_contribution() -> dict[str, list]:
    return {k: [] for k in ("day", "median", "p10", "p90", "ref_median", "ref_p10", "ref_p90")}


def _domains_data(result: adapter.RunResult) -> dict[str, list]:
    first = result.series[adapter.DOMAIN_SERIES[0]][result.focus]
    data: dict[str, list] = {"day": list(first.index)}
    for metric in adapter.DOMAIN_SERIES:
        data[metric] = list(result.series[metric][result.focus].median(axis=1))
        data[metric + "_ref"] = list(result.series[metric][result.reference].median(axis=1))
    return data


def _contribution_data(result: adapter.RunResult) -> dict[str, list]:
    own = result.series[adapter.CONTRIBUTION_SERIES][result.focus]
    ref = result.series[adapter.CONTRIBUTION_SERIES][result.reference]
    return {
        "day": list(own.index),
        "median": list(own.median(axis=1)),
        "p10": list(own.quantile(0.1, axis=1)),
        "p90": list(own.quantile(0.9, axis=1)),
        "ref_median": list(ref.median(axis=1)),
        "ref_p10": list(ref.quantile(0.1, axis=1)),
        "ref_p90": list(ref.quantile(0.9, axis=1)),
    }


def _domains_figure(source: ColumnDataSource):
    fig = figure(
        title="Customers by domain (median; dashed: reference)",
        height=300,
        width=430,
        x_axis_label="day",
        y_axis_label="people",
        toolbar_location=None,
    )
    for metric in adapter.DOMAIN_SERIES:
        label = metric.removeprefix("n_")
        fig.line(
            "day", metric, source=source, color=COLOURS[metric], line_width=2, legend_label=label
        )
        fig.line(
            "day",
            metric + "_ref",
            source=source,
            color=COLOURS[metric],
            line_dash="dashed",
            line_width=1.5,
            legend_label=label,
        )
    fig.legend.location = "top_left"
    fig.yaxis.formatter.use_scientific = False
    return fig


def _contribution_figure(source: ColumnDataSource):
    fig = figure(
        title="Cumulative contribution, ¥ (median, 10–90% band)",
        height=300,
        width=430,
        x_axis_label="day",
        y_axis_label="¥",
        toolbar_location=None,
    )
    fig.varea("day", "ref_p10", "ref_p90", source=source, color="#999999", alpha=0.25)
    fig.line(
        "day",
        "ref_median",
        source=source,
        color="#555555",
        line_dash="dashed",
        line_width=2,
        legend_label="reference",
    )
    fig.varea("day", "p10", "p90", source=source, color="#2ca02c", alpha=0.25)
    fig.line("day", "median", source=source, color="#2ca02c", line_width=2, legend_label="strategy")
    fig.legend.location = "top_left"
    fig.yaxis.formatter.use_scientific = False
    return fig
