"""How long the command line takes to answer, as a user types it (a fresh interpreter each time).

    python benchmarks/cli_latency.py            # 7 × --help, 7 × validate, 3 × run
    python benchmarks/cli_latency.py --repeat 3

Times, from process start to exit:

* ``python run.py --help``;
* ``python run.py validate scenarios/baseline.toml``;
* ``python run.py run scenarios/baseline.toml --no-plots --no-progress`` — the shipped baseline,
  1,000,000 people × 365 days, writing its tables into a temporary folder.

Prints the median and the range of each, and the load average before and after: on a shared
machine other jobs stretch every figure. Targets (issue 11 item 6): --help and validate within
0.5 s, the whole run within 3 s.

Then, to show where the time of building the parser goes, what importing each command module
costs in a fresh interpreter (``python -X importtime``'s cumulative figure, median of
``--repeat`` runs): every command's parser is built for ``--help`` and for every command.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "scenarios/baseline.toml"


def wall_time(argv: list[str]) -> float:
    """Seconds from starting ``python run.py argv`` to its exit (it must succeed)."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "run.py", *argv], cwd=ROOT, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"run.py {' '.join(argv)} failed:\n{proc.stderr}")
    return elapsed


def import_time(module: str) -> float:
    """Seconds ``module`` takes to import in a fresh interpreter (``-X importtime``)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    for line in proc.stderr.splitlines():
        fields = [f.strip() for f in line.removeprefix("import time:").split("|")]
        if len(fields) == 3 and fields[2] == module:
            return int(fields[1]) / 1e6
    raise SystemExit(f"import {module} failed:\n{proc.stderr[-2000:]}")


def main() -> None:
    """Time each command several times and print median and range."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs of --help and validate (7)")
    parser.add_argument("--run-repeat", type=int, default=3, help="runs of the whole run (3)")
    opts = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        cases = [
            ("--help", ["--help"], opts.repeat),
            ("validate baseline", ["validate", BASELINE], opts.repeat),
        ]
        for i in range(opts.run_repeat):
            out = str(Path(tmp) / f"run{i}")
            cases.append(
                (
                    "run 1M × 365 days --no-plots",
                    ["run", BASELINE, "--no-plots", "--no-progress", "--out", out],
                    1,
                )
            )
        times: dict[str, list[float]] = {}
        for label, argv, repeat in cases:
            for _ in range(repeat):
                times.setdefault(label, []).append(wall_time(argv))
    sys.path.insert(0, str(ROOT))
    from model.cli import COMMAND_MODULES

    imports = {
        name: statistics.median(import_time(name) for _ in range(opts.repeat))
        for name in COMMAND_MODULES
    }
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    width = max(map(len, times))
    for label, values in times.items():
        print(
            f"{label:<{width}}  median {statistics.median(values):5.2f} s  "
            f"range {min(values):.2f}–{max(values):.2f} s  ({len(values)} runs)"
        )
    print("\nimporting each command module (cumulative, median):")
    width = max(map(len, imports))
    for name, seconds in imports.items():
        print(f"  {name:<{width}}  {seconds:5.2f} s")


if __name__ == "__main__":
    main()
