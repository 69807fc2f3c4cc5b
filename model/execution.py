"""Where runs execute: in-process, a local process pool or a Dask cluster, behind one seam.

Every batch of runs — a parameter sweep, a sensitivity design, a strategy comparison — goes
through a standard :class:`concurrent.futures.Executor` (Mesa's direction, mesa#3768), so the
caller never knows or cares where the work happens::

    from model.execution import open_executor, map_runs

    with open_executor(workers=4) as ex:          # or workers=1, or scheduler="tcp://host:8786"
        for task, outcome in map_runs(ex, run_one, tasks, retries=2, progress="sweep"):
            if outcome.ok:
                store(task, outcome.value)
            else:                                   # the run raised (or its worker kept dying)
                store_error(task, outcome.error)

API:

* :func:`open_executor` ``(workers=None, scheduler=None)`` — context manager yielding an
  Executor. ``workers=1``: in-process, synchronous (easy debugging, no pickling).
  ``workers=N`` (default: every core): a local process pool whose workers die with the main
  process. ``scheduler="tcp://HOST:PORT"``: a Dask cluster via
  ``distributed.Client(address).get_executor()``.
* :func:`map_runs` ``(executor, fn, tasks, *, retries=2, progress=None)`` — submits
  ``fn(task)`` for every task and yields ``(task, RunOutcome)`` pairs **in completion order**.
  Results never depend on that order, the worker count or the backend, provided ``fn`` draws its
  random numbers only from seeds carried in the task (``model.seeds.replicate_seed``): key the
  results by task, never by position.

Two kinds of failure are kept apart:

* **The run raised** (a bug or an impossible parameter combination): the exception is caught
  *inside the worker* and comes back as ``RunOutcome(ok=False, error="ValueError: ...")``. It is
  data — retrying would raise again — and the batch goes on.
* **The worker died** (killed, out of memory, segfault, lost node): the future itself fails
  (``BrokenProcessPool``, Dask's ``KilledWorker``, a closed connection). The task is resubmitted
  up to ``retries`` times; a broken local pool is replaced by a fresh one first. If it still
  fails it comes back as ``RunOutcome(ok=False, lost=True)``, which callers should *not* treat
  as a finished run (a later resume retries it).

``fn`` and the tasks must be picklable (module-level functions, plain data) for the pool and
Dask backends; Dask workers must be able to import this package.

Interrupts: on Ctrl-C (or any exception) inside the ``with`` block, pending tasks are
cancelled and local workers are terminated at once. Local workers ignore SIGINT (the main
process decides what to do), set ``PR_SET_PDEATHSIG`` on Linux and poll their parent, so no
worker outlives a hard-killed main process.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

# How often an orphan check runs in each local worker (seconds); PDEATHSIG is the fast path.
_PARENT_POLL_S = 0.5


@dataclass(frozen=True)
class RunOutcome:
    """What became of one task.

    Attributes:
        ok: the run returned normally.
        value: what ``fn`` returned (None unless ``ok``).
        error: ``"ExceptionType: message"`` if the run raised or was lost, else None.
        traceback: the full traceback text of a raised run (for logs; not part of any hash).
        lost: True if the worker kept dying and ``retries`` ran out: not a finished run.
        attempts: how many times the task was submitted.
        elapsed_s: wall time of the successful (or raising) attempt inside the worker.
    """

    ok: bool
    value: Any = None
    error: str | None = None
    traceback: str | None = None
    lost: bool = False
    attempts: int = 1
    elapsed_s: float = 0.0


def _guarded(fn: Callable[[Any], Any], task: Any) -> RunOutcome:
    """Run ``fn(task)`` in the worker, turning an exception into data (never a failed future)."""
    start = time.perf_counter()
    try:
        value = fn(task)
    except Exception as err:  # noqa: BLE001 - recording every run error is the point
        return RunOutcome(
            ok=False,
            error=f"{type(err).__name__}: {err}",
            traceback=traceback.format_exc(),
            elapsed_s=time.perf_counter() - start,
        )
    return RunOutcome(ok=True, value=value, elapsed_s=time.perf_counter() - start)


# --- in-process ------------------------------------------------------------------------------


class InProcessExecutor(cf.Executor):
    """Runs each task synchronously at ``submit``: ``--workers 1``, debuggers, notebooks."""

    workers = 1

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future:
        """Run ``fn(*args, **kwargs)`` now and return an already-finished future."""
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:
            if isinstance(err, KeyboardInterrupt | SystemExit):
                raise
            future.set_exception(err)
        return future


# --- local process pool ---------------------------------------------------------------------


def _set_parent_death_signal() -> None:
    """Ask Linux to SIGKILL this process when the thread that spawned it exits."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: the watchdog thread still covers us
        pass


def _watch_parent(parent_pid: int) -> None:
    while True:
        if os.getppid() != parent_pid:
            os._exit(1)  # orphaned: the main process is gone, nothing left to report to
        time.sleep(_PARENT_POLL_S)


def _init_worker(parent_pid: int, use_pdeathsig: bool) -> None:
    """Initializer of every local worker: die with the main process, leave Ctrl-C to it."""
    # Ctrl-C in a terminal reaches the whole process group; only the main process should act
    # on it (cancel, write what finished, exit), not every worker with its own traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if use_pdeathsig:
        _set_parent_death_signal()
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()


class LocalPoolExecutor(cf.Executor):
    """A process pool that replaces itself when a worker dies, and whose workers die with us.

    ``ProcessPoolExecutor`` marks itself broken for good when one worker dies; here the next
    ``submit`` starts a fresh pool, so :func:`map_runs` can resubmit the lost tasks.
    """

    def __init__(self, workers: int) -> None:
        self.workers = int(workers)
        # spawn, not fork: the main process has threads (progress bar, Dask), and forking a
        # threaded process can deadlock; spawned workers also start from a clean state.
        self._context = multiprocessing.get_context("spawn")
        # PDEATHSIG fires when the *thread* that spawned the worker exits, so only arm it when
        # the pool is driven from the main thread (the CLI); the watchdog covers the rest.
        self._use_pdeathsig = threading.current_thread() is threading.main_thread()
        self._lock = threading.Lock()
        self.restarts = 0
        self._pool = self._new_pool()

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=self._context,
            initializer=_init_worker,
            initargs=(os.getpid(), self._use_pdeathsig),
        )

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future:
        """Submit to the pool, replacing it first if a dead worker broke it."""
        with self._lock:
            try:
                return self._pool.submit(fn, *args, **kwargs)
            except BrokenProcessPool:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
                self.restarts += 1
                return self._pool.submit(fn, *args, **kwargs)

    def terminate(self) -> None:
        """Kill every worker now (used on Ctrl-C and errors: don't wait for running tasks)."""
        with self._lock:
            # ProcessPoolExecutor has no public way to stop running tasks before Python 3.14.
            processes = list((getattr(self._pool, "_processes", None) or {}).values())
            self._pool.shutdown(wait=False, cancel_futures=True)
            for proc in processes:
                with contextlib.suppress(Exception):
                    proc.kill()
            for proc in processes:
                with contextlib.suppress(Exception):
                    proc.join(timeout=5)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Shut the current pool down."""
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


# --- Dask -------------------------------------------------------------------------------------


class DaskExecutor(cf.Executor):
    """``distributed.Client(address).get_executor(retries=...)`` with a worker count."""

    def __init__(self, address: str, *, retries: int = 2) -> None:
        try:
            from distributed import Client
        except ImportError as err:  # pragma: no cover - dask is a dependency
            msg = "--scheduler needs dask.distributed: pip install 'dask[distributed]'"
            raise RuntimeError(msg) from err
        try:
            # A short timeout: a wrong address should fail fast, not after the default 30 s.
            self.client = Client(address, timeout="15s")
        except (OSError, TimeoutError, ValueError) as err:
            from model.errors import InputError

            raise InputError(
                f"--scheduler {address}: cannot reach a Dask scheduler there ({err}); start one "
                "with `dask scheduler` (it prints its tcp:// address) or check the address"
            ) from None
        # Dask's own retries re-run a task whose future errored; our runs never raise out of
        # _guarded, so this covers transport and deserialisation hiccups. A dead worker's
        # tasks are rescheduled by the scheduler itself (up to allowed-failures).
        self._executor = self.client.get_executor(retries=retries, pure=False)

    @property
    def workers(self) -> int:
        """Threads currently in the cluster (it may grow: used only to size the window)."""
        try:
            return max(1, sum(self.client.nthreads().values()))
        except Exception:  # noqa: BLE001 - a sizing hint must never fail a sweep
            return 1

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future:
        """Submit one task to the cluster."""
        return self._executor.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop using the cluster (the cluster itself keeps running)."""
        with contextlib.suppress(Exception):
            self._executor.shutdown(wait=wait)
        with contextlib.suppress(Exception):
            self.client.close()


# --- public API -------------------------------------------------------------------------------


def default_workers() -> int:
    """Every core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def open_executor(
    workers: int | None = None, scheduler: str | None = None, *, retries: int = 2
) -> Iterator[cf.Executor]:
    """Open the executor a batch of runs goes through.

    Args:
        workers: 1 runs in-process; N > 1 a local pool of N processes; None every core.
        scheduler: a Dask scheduler address (``tcp://HOST:PORT``); overrides ``workers``.
        retries: Dask's per-task retries (local pools are retried by :func:`map_runs`).

    Yields:
        An Executor with a ``workers`` attribute (the parallelism, used to size the window of
        tasks in flight). On an exception or Ctrl-C inside the block, local workers are killed
        at once and pending tasks dropped.
    """
    if scheduler:
        executor: cf.Executor = DaskExecutor(scheduler, retries=retries)
    else:
        n = default_workers() if workers is None else int(workers)
        if n < 1:
            raise ValueError(f"workers = {workers}: must be ≥ 1")
        executor = InProcessExecutor() if n == 1 else LocalPoolExecutor(n)
    try:
        yield executor
    except BaseException:
        if isinstance(executor, LocalPoolExecutor):
            executor.terminate()
        else:
            executor.shutdown(wait=False, cancel_futures=True)
        raise
    executor.shutdown(wait=True)


def map_runs[T](
    executor: cf.Executor,
    fn: Callable[[T], Any],
    tasks: Iterable[T],
    *,
    retries: int = 2,
    progress: str | bool | None = None,
    max_in_flight: int | None = None,
) -> Iterator[tuple[T, RunOutcome]]:
    """Run ``fn(task)`` for every task and yield ``(task, outcome)`` as each one finishes.

    Args:
        executor: from :func:`open_executor` (any ``concurrent.futures.Executor`` works).
        fn: a picklable, module-level function of one task.
        tasks: picklable task objects; their seeds must come from the task, not the order.
        retries: resubmissions of a task whose worker died (not of a run that raised).
        progress: a label to show a tqdm bar (counts, rate, ETA) on stderr; None/False: quiet.
        max_in_flight: most tasks submitted at once; default 2× the executor's workers (small
            enough that an interrupt loses little work, large enough to keep workers busy).

    Yields:
        ``(task, RunOutcome)`` in completion order — key results by task.
    """
    tasks = list(tasks)
    workers = int(getattr(executor, "workers", 1) or 1)
    window = max_in_flight or (1 if isinstance(executor, InProcessExecutor) else 2 * workers + 2)
    bar = None
    if progress:
        from tqdm import tqdm  # plain bar: tqdm.auto needs ipywidgets in notebooks

        label = progress if isinstance(progress, str) else "runs"
        bar = tqdm(total=len(tasks), desc=label, unit="run", dynamic_ncols=True)

    pending: dict[cf.Future, tuple[int, int]] = {}  # future -> (task index, attempt)
    queue = list(range(len(tasks)))[::-1]  # pop() from the end keeps the given order
    retry_queue: list[tuple[int, int]] = []
    try:
        while queue or retry_queue or pending:
            while (retry_queue or queue) and len(pending) < window:
                index, attempt = retry_queue.pop() if retry_queue else (queue.pop(), 1)
                pending[executor.submit(_guarded, fn, tasks[index])] = (index, attempt)
            done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for future in done:
                index, attempt = pending.pop(future)
                try:
                    outcome: RunOutcome = future.result()
                except BaseException as err:  # noqa: BLE001
                    # Runs never raise out of _guarded: whatever escapes is a dead worker, a
                    # lost connection or a pickling failure, so the task is resubmitted.
                    if isinstance(err, KeyboardInterrupt | SystemExit):
                        raise
                    if attempt <= retries:
                        retry_queue.append((index, attempt + 1))
                        continue
                    outcome = RunOutcome(
                        ok=False,
                        lost=True,
                        error=f"worker lost after {attempt} attempts: {type(err).__name__}: {err}",
                    )
                else:
                    if attempt > 1:
                        outcome = _with_attempts(outcome, attempt)
                if bar is not None:
                    bar.update(1)
                yield tasks[index], outcome
    finally:
        for future in pending:
            future.cancel()
        if bar is not None:
            bar.close()


def _with_attempts(outcome: RunOutcome, attempts: int) -> RunOutcome:
    return RunOutcome(
        ok=outcome.ok,
        value=outcome.value,
        error=outcome.error,
        traceback=outcome.traceback,
        lost=outcome.lost,
        attempts=attempts,
        elapsed_s=outcome.elapsed_s,
    )
