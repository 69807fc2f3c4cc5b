"""The dashboard end to end in a real headless Chromium, with no network but the loopback server.

Starts ``run.py dashboard`` as a user would, loads the page, changes the pushes per week, runs
at a small size, waits for the final state, saves the edited strategy as a scenario and checks
the page's numbers against ``run.py run`` on that file. Every request the page makes to
anything but the local server is blocked and recorded: the test fails if there is one, which
is the proof that the page works offline (no CDN).

The browser is the system Chromium (``apt-get install chromium``; ``.ci/run`` installs it),
driven by the ``playwright`` package: Playwright's own browser download is never used. Without
Chromium the test is skipped locally and fails under ``CI=true``.

With ``SIDOMAIN_DASHBOARD_SCREENSHOT=docs/dashboard.png`` in the environment it also writes the
README's screenshot.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from model.dashboard.adapter import DEFAULT_DRAWS, SHOWN_KPIS, format_kpi

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    # Without these Chromium keeps calling home (updates, safe browsing, ...) on a closed network.
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _missing(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the browser test must run in CI; see .ci/run)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed: pip install -e '.[test]'")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        _missing("Chromium not found: install it with `apt-get install -y chromium`")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def dashboard_url():
    """``run.py dashboard`` on the shipped comparison, as a subprocess; its printed address."""
    proc = subprocess.Popen(
        [sys.executable, "run.py", "dashboard"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert match, f"no address printed: {line!r} {proc.stderr.read() if proc.poll() else ''}"
        yield match.group(0)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def save_small_png(page, path: Path) -> None:
    """A full-page screenshot with a 64-colour palette: a few tens of kB for the README."""
    from PIL import Image

    raw = path.with_suffix(".raw.png")
    page.screenshot(path=str(raw), full_page=True)
    Image.open(raw).convert("RGB").quantize(colors=64).save(path, optimize=True)
    raw.unlink()


@pytest.mark.timeout(900)
def test_edit_run_save_in_chromium_matches_run_py_run(browser, dashboard_url, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    elsewhere: list[str] = []

    def only_loopback(route):
        url = route.request.url
        if url.startswith(dashboard_url) or url.startswith(dashboard_url.replace("http", "ws")):
            route.continue_()
        else:
            elsewhere.append(url)
            route.abort()

    page.route("**/*", only_loopback)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(dashboard_url)
    run_button = page.locator(".run-button button")
    run_button.wait_for(timeout=60_000)

    # Edit: 3 pushes a week instead of the file's 2 (persona is selected first).
    pushes = page.locator(".lever-outreach-pushes_per_week input")
    assert pushes.input_value() == "2"
    pushes.fill("3")
    pushes.press("Enter")
    # The default run size is the quick miniature: 1/20 of the market.
    size = page.locator(".run-size select")
    assert size.locator("option:checked").inner_text() == "1/20: 50,000 people"

    # The default run: the file's four strategies and the edited persona, on 10 draws of the
    # uncertain market × 1 replicate.
    assert page.locator(".draw-toggle input").is_checked()
    assert page.locator(".draws input").input_value() == str(DEFAULT_DRAWS)
    started = time.perf_counter()
    run_button.click()
    page.locator(".status [data-state=done]").wait_for(timeout=300_000)
    click_to_results = time.perf_counter() - started
    assert not run_button.is_disabled()
    status = page.locator(".status [data-state=done]").inner_text()
    assert f"Done: {1 + 5 * DEFAULT_DRAWS} runs" in status, status

    # The verdict panel: P(best) with its interval for every strategy, one minimax choice,
    # the verdict in words, what would have to be true, and what was drawn.
    verdict = page.locator(".verdict")
    p_best = verdict.locator("td.p-best")
    assert p_best.count() == 5
    shares = [float(p_best.nth(i).get_attribute("data-value")) for i in range(5)]
    assert sum(shares) == pytest.approx(1.0)
    assert all("%" in p_best.nth(i).inner_text() for i in range(5))
    assert verdict.locator("tr[data-strategy='persona (edited)']").count() == 1
    assert "is best" in verdict.locator("ul.verdict").inner_text()
    assert verdict.locator("ul.conditions li").count() >= 1
    drawn = verdict.locator("details.drawn summary").inner_text()
    assert f"{DEFAULT_DRAWS} draws (Latin hypercube" in drawn, drawn

    readme_shot = os.environ.get("SIDOMAIN_DASHBOARD_SCREENSHOT")
    if readme_shot:
        save_small_png(page, Path(readme_shot))

    shown = {}
    for kpi in SHOWN_KPIS:
        cell = page.locator(f".results tr[data-kpi={kpi}] td.seed-value")
        shown[kpi] = (cell.get_attribute("data-value"), cell.inner_text())

    # Save as scenario, then run it on the command line with the same (saved) seed.
    saved = tmp_path / "persona_push3.toml"
    page.locator(".save-path input").fill(str(saved))
    page.locator(".save-path input").press("Enter")
    page.locator(".save-button button").click()
    page.locator(".save-status [data-state=saved]").wait_for(timeout=30_000)
    assert saved.is_file()

    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "run.py", "run", str(saved), "--out", str(out), "--no-plots"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert "pushes_per_week = 3.0" in saved.read_text()
    for kpi, (raw, text) in shown.items():
        assert float(raw) == summary[kpi], kpi
        assert text == format_kpi(kpi, summary[kpi]), kpi

    # Once more, warm (the first click also waits for the run process's server to import the
    # model): the page goes back to running and then to the same final state.
    started = time.perf_counter()
    run_button.click()
    page.locator(".status [data-state=running]").wait_for(timeout=30_000)
    page.locator(".status [data-state=done]").wait_for(timeout=300_000)
    again = time.perf_counter() - started
    cell = page.locator(".results tr[data-kpi=contribution] td.seed-value")
    assert cell.get_attribute("data-value") == shown["contribution"][0]

    # A second tab has its own page: the file's values, no results, its own run button.
    other = browser.new_page()
    other.route("**/*", only_loopback)
    other.goto(dashboard_url)
    other.locator(".run-button button").wait_for(timeout=60_000)
    assert other.locator(".lever-outreach-pushes_per_week input").input_value() == "2"
    assert other.locator(".results tr[data-kpi]").count() == 0
    assert pushes.input_value() == "3"
    other.close()

    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    print(
        f"\nclick to results at 1/20 size, {DEFAULT_DRAWS} draws × 1 replicate, 5 strategies: "
        f"first {click_to_results:.2f} s, again {again:.2f} s "
        f"(load average {os.getloadavg()[0]:.2f})"
    )
    assert elsewhere == [], f"the page asked for something beyond the local server: {elsewhere}"
    assert errors == [], errors
