"""Fuzz the real CLI with mutated inputs: exit 0 or 2, never a traceback, nothing written on 2.

And whatever the exit status, every file that was in the case's folder before (its inputs, a
file of the user's) is byte for byte the same after.

Cases are generated deterministically (fixed seed) from the shipped scenarios, comparison and
sweep specs, an order export and a monthly series: wrong encodings, types, ranges, infinities,
deep nesting, missing and self-referencing bases, malformed ``--set``. Each runs through
``model.cli.main(argv)`` in-process (a subprocess costs 2–3 s of imports) on a tiny market, in a
folder of its own, under a time limit; a few run as real subprocesses for the paths that only a
process shows (the locale of stderr). Every test prints how many cases it ran and the slowest.
"""

from __future__ import annotations

import datetime
import os
import random
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import tomli_w

import model.cli

# Plans too big for the machine are refused by its memory, so the answer depends on the machine:
# they are tested with a fixed memory in test_resources.py, not generated here.
ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
BASELINE = ROOT / "scenarios" / "baseline.toml"
SEED = 20240614
LIMIT_S = 60  # per case: generous for a loaded 2-core machine; tiny cases take < 3 s
TINY = {"market.size": 2000, "market.initial_public": 100, "sim.days": 20}
TINY_SET = [a for k, v in TINY.items() for a in ("--set", f"{k}={v}")]

EVIL_VALUES: list[object] = [
    True,
    False,
    "90",
    "yes",
    "",
    "inf",
    float("inf"),
    float("-inf"),
    float("nan"),
    1e17,
    -1,
    0,
    1e-9,
    2**62,
    -(2**62),
    1e308,
    0.5,
    7,
    [],
    {},
    [1, 2],
    "x" * 300,
    datetime.date(1979, 5, 27),
    datetime.datetime(2024, 1, 1, 12, 30),
    {"a": {"b": 1}},
    [[[[[1]]]]],
    "私域",
    "\x00",
]
BAD_SETS = [
    'shocks=[{kind="ban", day=1}',
    "shocks.5.day=1",
    "sim.days.x=1",
    "x",
    "=1",
    "a..b=1",
    "sim.days=1e400",
    "market.size=-5",
    "platforms.tmall.daily_cap=inf",
    "name=",
    "behaviour.alpha_days=1e-9",
    "budget.per_day_yuan=1e17",
    "sim.days=true",
    'sim.days="90"',
    "outreach.enabled=yes",
    "referral.invites_per_purchase_max=1e20",
    "shocks={}",
    "operation.mode=guide",
    "platforms.jd.budget_share=0.5",
    "market=3",
    "sim.days=[[[[1]]]]",
    'name="../victim"',
    'name="/abs"',
    "description=" + "[" * 200 + "]" * 200,
    "operation.tools_cost_per_day_yuan=inf",
    "sim.seed=-1",
    "sim.seed=99999999999999999999",
]


@dataclass
class Case:
    """One generated input: files to write into its folder and the argv (``{w}`` = folder)."""

    name: str
    argv: list[str]
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Stats:
    """What a group of cases did."""

    ran: int = 0
    exit_0: int = 0
    exit_2: int = 0
    slowest: tuple[float, str] = (0.0, "")
    failures: list[str] = field(default_factory=list)


class CaseTimeout(BaseException):
    """Raised by SIGALRM when a case runs past its limit (not caught by the CLI)."""


def _alarm(signum, frame):
    raise CaseTimeout


def snapshot(folder: Path) -> dict[str, bytes | None]:
    return {
        p.relative_to(folder).as_posix(): None if p.is_dir() else p.read_bytes()
        for p in sorted(folder.rglob("*"))
    }


def snapshot_file(path: Path) -> bytes | None | str:
    if path.is_dir():
        return None
    return path.read_bytes() if path.is_file() else "missing"


def run_cases(cases: list[Case], tmp_path: Path, capsys, monkeypatch, label: str) -> Stats:
    """Run every case in a folder of its own; collect violations instead of stopping early."""
    stats = Stats()
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        for i, case in enumerate(cases):
            work = tmp_path / f"{label}-{i:03d}"
            work.mkdir()
            for rel, data in case.files.items():
                (work / rel).parent.mkdir(parents=True, exist_ok=True)
                (work / rel).write_bytes(data)
            argv = [a.replace("{w}", str(work)) for a in case.argv]
            before = snapshot(work)
            monkeypatch.chdir(work)
            capsys.readouterr()
            start = time.perf_counter()
            signal.setitimer(signal.ITIMER_REAL, LIMIT_S)
            try:
                code = model.cli.main(argv)
            except SystemExit as exit_:  # argparse rejects an option with exit 2
                code = exit_.code
            except CaseTimeout:
                code = "timeout"
            except BaseException as err:  # noqa: BLE001 - would be a traceback for the user
                code = f"uncaught {type(err).__name__}: {err}"
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            elapsed = time.perf_counter() - start
            err = capsys.readouterr().err
            stats.ran += 1
            stats.slowest = max(stats.slowest, (elapsed, case.name))
            where = f"{case.name} {argv}"
            if code == 0:
                stats.exit_0 += 1
            elif code == 2:
                stats.exit_2 += 1
                after = snapshot(work)
                if after != before:
                    added = sorted(set(after) - set(before))
                    stats.failures.append(f"{where}: exit 2 but wrote {added[:5]}")
                if not err.strip():
                    stats.failures.append(f"{where}: exit 2 without a message")
            else:
                stats.failures.append(f"{where}: {code}; stderr: {err[-300:]}")
            changed = [k for k, v in before.items() if snapshot_file(work / k) != v]
            if changed:
                stats.failures.append(f"{where}: changed or removed the user's {changed[:5]}")
            if "Traceback" in err:
                stats.failures.append(f"{where}: traceback on stderr: {err[-500:]}")
    finally:
        signal.signal(signal.SIGALRM, previous)
    print(
        f"\nfuzz {label}: {stats.ran} cases ({stats.exit_0} exit 0, {stats.exit_2} exit 2); "
        f"slowest {stats.slowest[0]:.2f} s ({stats.slowest[1]})"
    )
    return stats


def check(stats: Stats) -> None:
    assert not stats.failures, "\n".join(stats.failures[:20])


# --- mutations --------------------------------------------------------------------------------


def leaves(node, prefix=()) -> list[tuple]:
    """Dotted paths of every leaf (and empty table or list) of a parsed TOML document."""
    out = []
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        path = (*prefix, key)
        if isinstance(value, dict | list) and value:
            out += leaves(value, path)
        else:
            out.append(path)
    return out


def set_path(doc, path, value) -> None:
    node = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def delete_path(doc, path) -> None:
    node = doc
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]


def toml_bytes(doc: dict) -> bytes:
    return tomli_w.dumps(doc).encode()


def mutate_doc(rng: random.Random, doc: dict, protect: tuple[str, ...] = ()) -> tuple[str, dict]:
    """One structural mutation of a parsed document: a leaf's value, a deletion, an addition."""
    import copy

    doc = copy.deepcopy(doc)
    paths = [p for p in leaves(doc) if str(p[0]) not in protect]
    kind = rng.choice(["value", "value", "value", "delete", "unknown", "table"])
    path = rng.choice(paths)
    label = ".".join(map(str, path))
    if kind == "value":
        value = rng.choice(EVIL_VALUES)
        set_path(doc, path, value)
        return f"{label}={value!r:.40}", doc
    if kind == "delete":
        delete_path(doc, path)
        return f"del {label}", doc
    if kind == "unknown":
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        if isinstance(parent, dict):
            parent[f"{path[-1]}_typo"] = 1
        return f"unknown near {label}", doc
    set_path(doc, path, {"nested": {"deeper": [1, {"x": "y"}]}})
    return f"{label}=table", doc


def byte_mutations(rng: random.Random, text: bytes, self_name: str) -> list[tuple[str, bytes]]:
    """Encodings and damage that a file picks up on its way from a colleague's laptop."""
    as_text = text.decode()
    cut = rng.randrange(1, max(2, len(text)))
    spot = rng.randrange(0, len(text))
    return [
        ("utf-16", as_text.encode("utf-16")),
        ("utf-16-be", as_text.encode("utf-16-be")),
        ("bom", b"\xef\xbb\xbf" + text),
        # Characters an encoding lacks become '?', as a "save as" does.
        ("gbk", ("# 私域运营场景，客户分层推送\n" + as_text).encode("gbk", "replace")),
        ("big5", ("# 私域運營場景，客戶分層推送\n" + as_text).encode("big5", "replace")),
        ("latin-1", ("# Müller's café scénario\n" + as_text).encode("latin-1", "replace")),
        ("stray bytes", text[:spot] + bytes([0xFF, 0xFE, 0x80]) + text[spot:]),
        ("nul", text[:spot] + b"\x00" + text[spot:]),
        ("truncated", text[:cut]),
        ("crlf", text.replace(b"\n", b"\r\n")),
        ("deep nesting", text + b"\ndeep = " + b"[" * 3000 + b"]" * 3000 + b"\n"),
        ("duplicate line", text + b"\n" + text.splitlines()[-1] + b"\n"),
        ("binary", bytes(rng.randrange(256) for _ in range(600))),
        ("empty", b""),
        ("self base", f'base = "{self_name}"\n'.encode() + text),
    ]


def with_base(doc: dict, base: str) -> dict:
    return {"base": base, **{k: v for k, v in doc.items() if k != "base"}}


# --- scenarios: validate and run -------------------------------------------------------------


def scenario_cases(rng: random.Random) -> list[Case]:
    baseline = tomllib.loads(BASELINE.read_text())
    base_bytes = BASELINE.read_bytes()
    cases = []
    for i in range(70):
        what, doc = mutate_doc(rng, baseline)
        command = ["validate"] if i % 2 else ["run", "--no-plots", *TINY_SET]
        cases.append(
            Case(
                f"scenario {what}",
                [command[0], "{w}/s.toml", *command[1:], "--out", "{w}/o"],
                {"s.toml": toml_bytes(doc)},
            )
            if command[0] == "run"
            else Case(f"scenario {what}", ["validate", "{w}/s.toml"], {"s.toml": toml_bytes(doc)})
        )
    for what, data in byte_mutations(rng, base_bytes, "s.toml"):
        cases.append(Case(f"scenario bytes {what}", ["validate", "{w}/s.toml"], {"s.toml": data}))
    # Bases: missing, itself, a binary file, a folder, a cycle of two, a comparison file.
    small = 'name = "b"\n[market]\nsize = 2000\ninitial_public = 100\n[sim]\ndays = 20\n'
    for what, base, extra in [
        ("missing base", "nope.toml", {}),
        ("self base", "s.toml", {}),
        ("binary base", "blob.bin", {"blob.bin": bytes(range(256))}),
        ("folder base", "sub", {"sub/x.toml": b"a = 1\n"}),
        ("cycle", "t.toml", {"t.toml": b'base = "s.toml"\n'}),
        (
            "comparison as base",
            "c.toml",
            {"c.toml": (DATA / "compare" / "small.toml").read_bytes()},
        ),
        ("base = 3", 3, {}),
        ("empty base", "", {}),
    ]:
        doc = {"base": base, **tomllib.loads(small)}
        cases.append(
            Case(
                f"scenario {what}", ["validate", "{w}/s.toml"], {"s.toml": toml_bytes(doc), **extra}
            )
        )
    # Malformed --set on a valid file, through validate and run.
    tiny = with_base(tomllib.loads(small), BASELINE.as_posix())
    for i, bad in enumerate(BAD_SETS):
        command = (
            ["run", "{w}/s.toml", "--no-plots", "--out", "{w}/o"]
            if i % 3 == 0
            else ["validate", "{w}/s.toml"]
        )
        cases.append(
            Case(f"--set {bad!r:.50}", [*command, "--set", bad], {"s.toml": toml_bytes(tiny)})
        )
    # Output paths: the folder of the input, the input itself, the root, empty, NUL, a file.
    for out in [".", "", "{w}", "{w}/s.toml", "/", "{w}/s.toml/x", "a\x00b", "{w}/f.txt"]:
        for extra in ([], ["--overwrite"]):
            cases.append(
                Case(
                    f"--out {out!r} {' '.join(extra)}",
                    ["run", "{w}/s.toml", "--no-plots", "--out", out, *extra],
                    {"s.toml": toml_bytes(tiny), "f.txt": b"mine"},
                )
            )
    # Unsafe names as the default output folder (no --out).
    for name in ["", "..", "../victim", "/abs/x", "a/b", "ok name"]:
        doc = {**tiny, "name": name}
        cases.append(
            Case(f"name {name!r}", ["run", "{w}/s.toml", "--no-plots"], {"s.toml": toml_bytes(doc)})
        )
    return cases


@pytest.mark.slow
def test_fuzz_scenarios(tmp_path, capsys, monkeypatch):
    check(run_cases(scenario_cases(random.Random(SEED)), tmp_path, capsys, monkeypatch, "scenario"))


# --- comparisons and sweeps ---------------------------------------------------------------


def comparison_cases(rng: random.Random) -> list[Case]:
    doc = tomllib.loads((DATA / "compare" / "small.toml").read_text())
    doc["market"]["base"] = BASELINE.as_posix()
    doc["market"]["set"] = {**doc["market"]["set"], **TINY, "budget.per_day_yuan": 100.0}
    doc["replicates"] = 1
    run = ["compare", "{w}/c.toml", "--workers", "1", "--no-plots", "--out", "{w}/o"]
    cases = [Case("comparison as shipped (tiny)", run, {"c.toml": toml_bytes(doc)})]
    for _ in range(22):
        what, bad = mutate_doc(rng, doc)
        cases.append(Case(f"comparison {what}", run, {"c.toml": toml_bytes(bad)}))
    for what, data in byte_mutations(rng, toml_bytes(doc), "c.toml")[:8]:
        cases.append(Case(f"comparison bytes {what}", run, {"c.toml": data}))
    for what, base in [("self base", "c.toml"), ("missing base", "nope.toml"), ("base = ''", "")]:
        bad = {**doc, "market": {**doc["market"], "base": base}}
        cases.append(Case(f"comparison {what}", run, {"c.toml": toml_bytes(bad)}))
    for flag in [
        ["--replicates", "100000000"],
        ["--replicates", "0"],
        ["--replicates", "x"],
        ["--seed", "-1"],
        ["--set", "sim.days=3650"],
        ["--set", 'shocks=[{kind="ban"'],
        ["--workers", "0"],
    ]:
        cases.append(
            Case(f"comparison {' '.join(flag)}", [*run, *flag], {"c.toml": toml_bytes(doc)})
        )
    names = [{"name": n, "set": {}} for n in ["..", "a\x00b", "/abs", "x" * 300]]
    cases.append(
        Case(
            "comparison odd strategy names",
            run,
            {"c.toml": toml_bytes({**doc, "strategies": names, "reference": ".."})},
        )
    )
    return cases


def sweep_cases(rng: random.Random) -> list[Case]:
    doc = {
        "name": "fz",
        "scenario": BASELINE.as_posix(),
        "replicates": 1,
        "root_seed": 3,
        "kpis": ["roi", "contribution"],
        "set": {**TINY, "budget.per_day_yuan": 100.0},
        "sweep": {"outreach.pushes_per_week": [1, 3]},
    }
    run = ["sweep", "{w}/s.toml", "--workers", "1", "--no-progress", "--no-plots", "--out", "{w}/o"]
    cases = [Case("sweep as written", run, {"s.toml": toml_bytes(doc)})]
    for _ in range(16):
        what, bad = mutate_doc(rng, doc, protect=("set",))
        cases.append(Case(f"sweep {what}", run, {"s.toml": toml_bytes(bad)}))
    for what, extra in [
        ("run = os:system", {"run": "os:system"}),
        ("run = builtins:eval", {"run": "builtins:eval"}),
        ("run = toy", {"run": "tests.toy:toy_run"}),
        ("replicates 10001", {"replicates": 10_001}),
        ("range inf", {"sweep": {"diversion.p_join_max": {"low": 0.1, "high": float("inf")}}}),
        ("range inverted", {"sweep": {"diversion.p_join_max": {"low": 0.3, "high": 0.1}}}),
        ("values inf", {"sweep": {"budget.per_day_yuan": [1.0, float("inf")]}}),
        (
            "sample n huge",
            {"sweep": {"diversion.p_join_max": {"low": 0.1, "high": 0.2}}, "sample": {"n": 2**40}},
        ),
        ("scenario itself", {"scenario": "s.toml"}),
        ("scenario missing", {"scenario": "nope.toml"}),
    ]:
        cases.append(Case(f"sweep {what}", run, {"s.toml": toml_bytes({**doc, **extra})}))
    sens = {
        **doc,
        "sweep": {"diversion.p_join_max": {"low": 0.05, "high": 0.3}},
        "sensitivity": {"methods": ["morris"], "morris_trajectories": 2},
    }
    srun = [
        "sensitivity",
        "{w}/s.toml",
        "--workers",
        "1",
        "--no-progress",
        "--no-plots",
        "--out",
        "{w}/o",
    ]
    for _ in range(6):
        what, bad = mutate_doc(rng, sens, protect=("set", "scenario"))
        cases.append(Case(f"sensitivity {what}", srun, {"s.toml": toml_bytes(bad)}))
    return cases


@pytest.mark.slow
def test_fuzz_comparisons_and_sweeps(tmp_path, capsys, monkeypatch):
    rng = random.Random(SEED + 1)
    cases = comparison_cases(rng) + sweep_cases(rng)
    check(run_cases(cases, tmp_path, capsys, monkeypatch, "compare-sweep"))


# --- order exports and monthly series -----------------------------------------------------------


def order_cases(rng: random.Random) -> list[Case]:
    lines = (DATA / "orders" / "good.csv").read_text().splitlines()[:400]
    good = "\n".join(lines) + "\n"
    base = ["fit-orders", "{w}/o.csv", "--calibration-end", "2024-09-30", "--out", "{w}/out"]
    cases = [Case("orders as exported", base, {"o.csv": good.encode()})]
    for what, data in [
        ("utf-16 tab (Excel Unicode text)", good.replace(",", "\t").encode("utf-16")),
        ("utf-16-be", good.encode("utf-16-be")),
        ("gbk header", good.replace("customer_id,date,amount", "客户,日期,金额").encode("gbk")),
        ("big5 header", good.replace("customer_id,date,amount", "客戶,日期,金額").encode("big5")),
        (
            "latin-1 column",
            "\n".join([lines[0] + ",name"] + [f"{ln},Müller" for ln in lines[1:]]).encode(
                "latin-1"
            ),
        ),
        ("bom", b"\xef\xbb\xbf" + good.encode()),
        ("binary", bytes(rng.randrange(256) for _ in range(2000))),
        ("empty", b""),
        ("semicolons", good.replace(",", ";").encode()),
        (
            "all amounts zero",
            "\n".join([lines[0]] + [ln.rsplit(",", 1)[0] + ",0" for ln in lines[1:]]).encode(),
        ),
    ]:
        cases.append(Case(f"orders {what}", base, {"o.csv": data}))
    bad_cells = {
        1: [
            "2024-13-01",
            "9999-12-31",
            "2024-01-05 25:99",
            "",
            "yesterday",
            "1/2/2024",
            "2024-01-05T23:59:60",
            "0000-00-00",
        ],
        2: ["-5", "1e400", "nan", "¥12", "1,000", "", "inf"],
        0: ["", '"', "a,b"],
    }
    for _ in range(20):
        col = rng.choice(list(bad_cells))
        row = rng.randrange(1, len(lines))
        cells = lines[row].split(",", 2)
        cells[col] = rng.choice(bad_cells[col])
        mutated = lines.copy()
        mutated[row] = ",".join(cells)
        cases.append(
            Case(
                f"orders row {row} col {col} = {cells[col]!r}",
                base,
                {"o.csv": ("\n".join(mutated) + "\n").encode()},
            )
        )
    for flags in [
        ["--calibration-end", "9999-12-31"],
        ["--calibration-end", "1900-01-01"],
        ["--calibration-end", "2024-02-30"],
        ["--holdout-end", "2262-04-12"],
        ["--holdout-end", "2024-01-01"],
        ["--date-format", "%Q"],
        ["--date-format", "%Y"],
        ["--date-format", ""],
        ["--time-unit", "week", "--holdout-end", "2024-12-31"],
        ["--customer-col", "nope"],
        ["--amount-col", "date"],
    ]:
        cases.append(Case(f"orders {' '.join(flags)}", [*base, *flags], {"o.csv": good.encode()}))
    return cases


def series_cases(rng: random.Random) -> list[Case]:
    valid = (DATA / "series" / "valid.csv").read_text()
    rows = valid.splitlines()
    cal = [
        "calibrate",
        "{w}/s.toml",
        "--series",
        "{w}/m.csv",
        "--populations",
        "1",
        "--population-size",
        "3",
        "--predictive-draws",
        "2",
        "--workers",
        "1",
        "--out",
        "{w}/out",
        *TINY_SET,
    ]
    scen = {"s.toml": toml_bytes(with_base({"name": "fz"}, BASELINE.as_posix()))}
    cases = [Case("series as observed", cal, {**scen, "m.csv": valid.encode()})]
    cells = ["5000000", "-1", "nan", "inf", "", "abc", "1e400", "0"]
    for _ in range(14):
        r = rng.randrange(1, len(rows))
        parts = rows[r].split(",")
        c = rng.randrange(1, len(parts))
        parts[c] = rng.choice(cells)
        mutated = rows.copy()
        mutated[r] = ",".join(parts)
        cases.append(
            Case(
                f"series row {r} col {c} = {parts[c]!r}",
                cal,
                {**scen, "m.csv": ("\n".join(mutated) + "\n").encode()},
            )
        )
    for what, data in [
        ("utf-16", valid.encode("utf-16")),
        ("binary", bytes(range(256)) * 3),
        ("month 0", valid.replace("\n1,", "\n0,", 1).encode()),
        ("month 9999", valid.replace("\n2,", "\n9999,", 1).encode()),
        ("months decrease", (rows[0] + "\n" + rows[2] + "\n" + rows[1] + "\n").encode()),
        ("month 2024-13", valid.replace("\n1,", "\n2024-13,", 1).encode()),
        ("extra column", valid.replace("month,", "month,revenue,", 1).encode()),
    ]:
        cases.append(Case(f"series {what}", cal, {**scen, "m.csv": data}))
    for param in [
        "operation.group_cap=100:300",
        "diversion.p_join_max=0.3:0.1",
        "referral.p_convert=nan:1",
        "referral.p_convert=-inf:0.1",
        "nope.key=0:1",
        "behaviour.alpha_days=1e-12:1e-9",
        "referral.p_convert=0.1",
        "=1:2",
    ]:
        cases.append(
            Case(
                f"calibrate --param {param}",
                [*cal, "--param", param],
                {**scen, "m.csv": valid.encode()},
            )
        )
    fc = [
        "forecast",
        "{w}/s.toml",
        "--months",
        "1",
        "--replicates",
        "2",
        "--workers",
        "1",
        "--no-progress",
        "--out",
        "{w}/out",
        *TINY_SET[:4],
    ]
    for flags in [
        [],
        ["--replicates", "100000000"],
        ["--months", "122"],
        ["--months", "0"],
        ["--posterior", "{w}/nope"],
        ["--posterior", "{w}/m.csv"],
        ["--seed", "-3"],
    ]:
        cases.append(
            Case(f"forecast {' '.join(flags)}", [*fc, *flags], {**scen, "m.csv": valid.encode()})
        )
    return cases


@pytest.mark.slow
def test_fuzz_orders_series_forecasts(tmp_path, capsys, monkeypatch):
    rng = random.Random(SEED + 2)
    cases = order_cases(rng) + series_cases(rng)
    check(run_cases(cases, tmp_path, capsys, monkeypatch, "orders-series"))


# --- as a process: stderr in a plain locale, exit status --------------------------------------


PROCESS_CASES: list[tuple[str, list[str], dict[str, bytes], Callable[[str], bool]]] = [
    (
        "gbk scenario, C locale",
        ["validate", "s.toml"],
        {"s.toml": "description = '私域运营：客户分层推送，导购一对一服务'\n".encode("gbk")},
        lambda err: "is not UTF-8" in err and "GBK" in err,
    ),
    (
        "utf-16 orders, C locale",
        ["fit-orders", "o.csv", "--calibration-end", "2024-12-31", "--date-col", "日期"],
        {"o.csv": "客户,日期,金额\n".encode("utf-16")},
        lambda err: "日期" in err or "no orders" in err,
    ),
    (
        "¥ in a message",
        ["validate", "s.toml", "--set", "budget.per_day_yuan=1e17"],
        {"s.toml": f'base = "{BASELINE.as_posix()}"\n'.encode()},
        lambda err: "1,000,000,000" in err,
    ),
]


@pytest.mark.parametrize("case", PROCESS_CASES, ids=[c[0] for c in PROCESS_CASES])
def test_fuzz_as_a_process_in_a_plain_locale(tmp_path, case):
    name, argv, files, says = case
    for rel, data in files.items():
        (tmp_path / rel).write_bytes(data)
    env = {**os.environ, "LANG": "C", "LC_ALL": "C"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=LIMIT_S,
    )
    err = proc.stderr.decode("utf-8", errors="replace")
    assert proc.returncode == 2, err
    assert "Traceback" not in err and says(err), err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(files)
