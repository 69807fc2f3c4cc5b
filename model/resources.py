"""Will a plan fit this machine? Memory of a run from its market size, checked before starting.

A run holds every person of the market as a row of numpy arrays, so its memory grows with
``market.size``; a referral graph adds the edges. The figures are the slopes of the peak of
allocated memory (``tracemalloc``, which numpy reports to) measured with
``python benchmarks/bench_memory.py`` (baseline scenario, 60 days, each size in a fresh
process); peak RSS grows a little slower, because arrays of zeros are resident only once
written. Measured 2026-11-30 (allocated bytes per person; RSS in brackets):

============================= ============ ============ ============
sizes compared                0.1M–0.3M    0.5M–2M      1M–4M
mixed referral (no graph)     120 (122)    120 (120)    120 (120)
small-world, mean_degree 10   393 (388)    393 (343)    393 (352)
scale-free, mean_degree 10    404 (398)    404 (352)    404 (360)
============================= ============ ============ ============

So 120 bytes per person without a graph, at every size (``tests/test_resources.py`` once saw
120.008 at 0.1M–0.3M: the slope is 120 plus noise of a few hundredths), and a graph adds
27.3 (small-world) to 28.4 (scale-free) per person per unit of mean_degree. The estimate must
not fall short, so it keeps headroom above the largest measurement: 128 bytes per person
(+7%: room for one more 8-byte array per person) and 29 per unit of degree; one Python process
is ≈ 160 MB (imports: numpy, pandas, Mesa).

A comparison keeps every run's daily table in memory and melts them into its tidy table when
it writes: ≈ 5.3 KB per run and simulated day (measured: 300 runs × 365 days of
``tests/data/compare/small.toml`` at 2,000 people, peak RSS 816 MB vs 260 MB for 30 runs).

:func:`check_memory` refuses a plan whose estimate exceeds the memory available now, with the
numbers and the largest market that would fit.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

from model.errors import InputError

# The measured slopes (120 and 27.3–28.4, module docstring) with headroom: never short.
BYTES_PER_PERSON = 128
GRAPH_BYTES_PER_PERSON_PER_DEGREE = 29
PROCESS_BYTES = 160 * 2**20
COMPARE_BYTES_PER_RUN_DAY = 5_300
#: Most replicates per strategy (compare) or per point (sweep): beyond this the spread of a
#: KPI estimate hardly narrows (its standard error falls as 1/√R), while time and storage grow.
MAX_REPLICATES = 10_000
#: Most runs in one plan (compare, sweep, sensitivity, forecast).
MAX_RUNS = 1_000_000


def run_bytes(size: int, *, graph_degree: int | None = None) -> int:
    """Peak memory of one simulation of ``size`` people (without the process's own imports).

    Args:
        size: ``market.size``.
        graph_degree: ``referral.mean_degree`` when a referral graph is built, else None.
    """
    per_person = BYTES_PER_PERSON
    if graph_degree is not None:
        per_person += GRAPH_BYTES_PER_PERSON_PER_DEGREE * graph_degree
    return int(size) * per_person


def scenario_run_bytes(scenario) -> int:
    """:func:`run_bytes` of a validated scenario (a graph only if one is built)."""
    r = scenario.referral
    graph = scenario.operation.mode != "none" and r.enabled and r.network != "mixed"
    return run_bytes(scenario.market.size, graph_degree=r.mean_degree if graph else None)


@dataclass(frozen=True)
class Memory:
    """The machine's memory (bytes): installed, and available now (after other programs)."""

    total: int
    available: int


def machine_memory() -> Memory:
    """Installed and available memory, within a container's limit if there is one."""
    import psutil

    vm = psutil.virtual_memory()
    total, available = int(vm.total), int(vm.available)
    limit = _cgroup_limit()
    if limit is not None and limit < total:
        total = limit
        available = min(available, limit)
    return Memory(total, available)


def _cgroup_limit() -> int | None:
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        with contextlib.suppress(OSError, ValueError):
            text = open(path).read().strip()  # noqa: SIM115, PTH123 - a one-line kernel file
            if text.isdigit() and int(text) < 2**60:
                return int(text)
    return None


def concurrency(workers: int | None, runs: int) -> int:
    """Runs in memory at once: the worker count (every core by default), at most ``runs``."""
    from model.execution import default_workers

    n = default_workers() if workers is None else int(workers)
    return max(1, min(n, runs))


def gb(n: float) -> str:
    """Bytes as GB: one decimal below 10 GB, whole numbers above."""
    value = n / 1e9
    return f"{value:.0f} GB" if value >= 10 else f"{value:.1f} GB"


def check_memory(
    *,
    what: str,
    size: int,
    per_run: int,
    parallel: int = 1,
    held: int = 0,
    held_per_replicate: int = 0,
    scheduler: str | None = None,
    memory: Memory | None = None,
) -> None:
    """Refuse a plan that cannot fit in the memory available now; say what would.

    Args:
        what: the plan in words, e.g. ``"compare small: 3 strategies × 20 replicates"``.
        size: the largest ``market.size`` of the plan (for the advice).
        per_run: bytes of its largest run (:func:`scenario_run_bytes`).
        parallel: runs in memory at once (local worker processes).
        held: bytes of results the main process keeps (a comparison's daily tables).
        held_per_replicate: of which per replicate (for the advice).
        scheduler: a Dask address: runs happen elsewhere, only ``held`` is checked here.
        memory: the machine's memory (default: measured now).

    Raises:
        InputError: the estimate exceeds the available memory.
    """
    memory = memory or machine_memory()
    workers = PROCESS_BYTES if parallel > 1 else 0  # each local worker is a process of its own

    def local(n: int, run: int) -> int:
        return 0 if scheduler else n * (run + workers)

    need = PROCESS_BYTES + local(parallel, per_run) + held
    if need <= memory.available:
        return
    parts = []
    if local(parallel, per_run):
        parts.append(
            f"{gb(per_run)} per run (market.size = {size:,})"
            + (f" × {parallel} runs at once" if parallel > 1 else "")
        )
    if held:
        parts.append(f"{gb(held)} of results kept in memory")
    # Advice: each change alone that would make the plan fit.
    room = memory.available - PROCESS_BYTES
    advice = []
    per_person = per_run / max(size, 1)
    if local(parallel, per_run) and per_person > 0:
        fit = math.floor((room - held - local(parallel, 0)) / parallel / per_person)
        if fit >= 1:
            advice.append(f"market.size ≤ {_round_down(fit):,}")
        if parallel > 1 and PROCESS_BYTES + local(1, per_run) + held <= memory.available:
            n = max(1, (room - held) // (per_run + workers))
            advice.append(f"--workers {min(n, parallel - 1)}")
    if held_per_replicate:
        replicates = (room - local(parallel, per_run)) // held_per_replicate
        if replicates >= 1:
            advice.append(f"--replicates {_round_down(int(replicates)):,} or fewer")
    if held and not advice:
        advice.append("fewer replicates or a shorter sim.days")
    raise InputError(
        f"{what} needs ≈ {gb(need)} of memory ({' + '.join(parts)}); this machine has "
        f"{gb(memory.total)}, of which {gb(memory.available)} is available now, so it cannot "
        f"finish. Use {' or '.join(advice) or 'a smaller plan'}"
    )


def _round_down(n: int) -> int:
    """Round down to two significant figures, for advice a person can type."""
    if n < 100:
        return n
    scale = 10 ** (len(str(n)) - 2)
    return n // scale * scale


def check_count(count: int, limit: int, what: str) -> None:
    """Refuse a count of runs or replicates above ``limit``."""
    if count > limit:
        raise InputError(f"{what} = {count:,}: at most {limit:,}")
