"""The same sweep on a Dask cluster: identical numbers, and a killed worker is survived."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import threading
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

from model.execution import DaskExecutor, open_executor  # noqa: E402
from model.experiment.store import ResultStore  # noqa: E402
from model.sweep.runner import run_sweep  # noqa: E402
from model.sweep.spec import load_spec  # noqa: E402
from tests.test_sweep import REAL_SPEC  # noqa: E402  (the same tiny real-model sweep)

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"

SLOW_TOY_SPEC = f"""
name = "slow"
scenario = "{BASELINE.as_posix()}"
run = "model.sweep.toy:toy_run_slow"
replicates = 2
root_seed = 8
kpis = ["roi", "contribution"]

[sweep]
"outreach.pushes_per_week" = [0.5, 1, 2, 3, 4, 5]
"diversion.incentive_yuan" = [0.0, 2.0, 4.0]
"""


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None, silence_logs=50
    ) as cl:
        yield cl


@pytest.mark.slow
def test_dask_cluster_gives_the_same_hash_as_in_process(tmp_path, cluster):
    path = tmp_path / "spec.toml"
    path.write_text(REAL_SPEC)
    spec = load_spec(path)
    kw = {"progress": False, "plots": False}
    serial = run_sweep(spec, tmp_path / "serial", workers=1, **kw)
    on_dask = run_sweep(spec, tmp_path / "dask", scheduler=cluster.scheduler_address, **kw)
    assert on_dask.report.n_ran == 12 and on_dask.n_failed_total == 0
    assert on_dask.result_hash == serial.result_hash


@pytest.mark.slow
def test_a_killed_dask_worker_does_not_change_the_result(tmp_path, cluster):
    path = tmp_path / "spec.toml"
    path.write_text(SLOW_TOY_SPEC)
    spec = load_spec(path)
    kw = {"progress": False, "plots": False}
    with concurrent.futures.ThreadPoolExecutor(4) as threads:  # the slow toy only sleeps
        reference = run_sweep(spec, tmp_path / "ref", executor=threads, **kw)

    out = tmp_path / "dask"
    killed: list[int] = []

    def kill_one_worker(client) -> None:
        # Wait until the sweep is under way (some runs stored), then kill -9 one worker.
        deadline = time.time() + 60
        while not ResultStore(out).part_files() and time.time() < deadline:
            time.sleep(0.05)
        pids = client.run(os.getpid)
        pid = sorted(pids.values())[0]
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    with open_executor(scheduler=cluster.scheduler_address) as ex:
        assert isinstance(ex, DaskExecutor)
        killer = threading.Thread(target=kill_one_worker, args=(ex.client,))
        killer.start()
        result = run_sweep(spec, out, executor=ex, **kw)
        killer.join()
    assert killed, "the worker was never killed"
    assert result.report.n_ran == 36 and result.n_missing == 0 and result.n_failed_total == 0
    assert result.result_hash == reference.result_hash
