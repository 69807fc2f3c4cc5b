"""The executor seam: same results in-process, in a local pool and on Dask; retries; orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from model.execution import LocalPoolExecutor, RunOutcome, map_runs, open_executor
from tests.toy import die_once, raise_on_odd, square_with_seed


def _workers(procs):
    """Live pool workers among ``procs`` (the multiprocessing resource tracker is not one)."""
    alive = []
    for proc in procs:
        try:
            if proc.status() != psutil.STATUS_ZOMBIE and not any(
                "resource_tracker" in part for part in proc.cmdline()
            ):
                alive.append(proc)
        except psutil.NoSuchProcess:
            pass
    return alive


def _collect(executor, fn, tasks, **kw):
    return dict((task, outcome) for task, outcome in map_runs(executor, fn, tasks, **kw))


def test_in_process_and_pool_agree_and_order_does_not_matter():
    tasks = list(range(12))
    with open_executor(workers=1) as ex:
        serial = _collect(ex, square_with_seed, tasks)
    with open_executor(workers=2) as ex:
        pooled = _collect(ex, square_with_seed, tasks[::-1])
    assert {t: o.value for t, o in serial.items()} == {t: o.value for t, o in pooled.items()}
    assert serial[3].value[0] == 9
    assert all(o.ok and o.attempts == 1 for o in pooled.values())


def test_a_run_that_raises_is_data_not_a_retry():
    with open_executor(workers=2) as ex:
        out = _collect(ex, raise_on_odd, range(6), retries=2)
    assert sorted(t for t, o in out.items() if o.ok) == [0, 2, 4]
    failed = [o for o in out.values() if not o.ok]
    assert len(failed) == 3
    assert all(o.error.startswith("ValueError: odd") and not o.lost for o in failed)
    assert all(o.attempts == 1 for o in failed)  # raised runs are never resubmitted


def test_a_dead_local_worker_is_replaced_and_its_task_retried(tmp_path):
    tasks = [(i, str(tmp_path)) for i in range(6)]
    with open_executor(workers=2) as ex:
        assert isinstance(ex, LocalPoolExecutor)
        out = _collect(ex, die_once, tasks, retries=2)
        restarts = ex.restarts
    assert restarts >= 1
    assert all(o.ok for o in out.values())
    assert {t[0]: o.value for t, o in out.items()} == {i: i * 10 for i in range(6)}
    assert out[tasks[3]].attempts >= 2


def test_retries_exhausted_is_reported_lost_not_raised(tmp_path):
    # Each attempt of task 3 kills its worker: with retries=0 it comes back lost.
    tasks = [(i, str(tmp_path)) for i in range(4)]
    with open_executor(workers=2) as ex:
        out = _collect(ex, die_once, tasks, retries=0)
    lost = [t for t, o in out.items() if o.lost]
    assert tasks[3] in lost
    assert out[tasks[3]].error.startswith("worker lost after 1 attempts")


def test_pool_workers_are_gone_after_the_block():
    with open_executor(workers=2) as ex:
        _collect(ex, square_with_seed, range(4))
        kids = psutil.Process().children(recursive=True)
        assert len(_workers(kids)) == 2
    time.sleep(0.5)
    assert _workers(kids) == []


def test_interrupt_inside_the_block_kills_workers_at_once():
    with pytest.raises(KeyboardInterrupt):
        with open_executor(workers=2) as ex:
            for _task, _outcome in map_runs(ex, square_with_seed, range(4)):
                kids = psutil.Process().children(recursive=True)
                raise KeyboardInterrupt
    time.sleep(0.5)
    assert len(_workers(kids)) == 0


def test_outcome_defaults():
    assert RunOutcome(ok=True, value=1).attempts == 1
    assert os.getpid() > 0


def test_no_worker_outlives_a_hard_killed_parent(tmp_path):
    script = textwrap.dedent(
        """
        import os, sys
        from model.execution import map_runs, open_executor
        from tests.toy import sleep_then_square
        with open_executor(workers=2) as ex:
            for i, (task, out) in enumerate(map_runs(ex, sleep_then_square, range(100))):
                if i == 0:
                    print("ready", flush=True)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        workers = _workers(psutil.Process(proc.pid).children(recursive=True))
        assert len(workers) == 2
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.time() + 5
        while _workers(workers) and time.time() < deadline:
            time.sleep(0.1)
        assert _workers(workers) == []
    finally:
        if proc.poll() is None:
            proc.kill()
