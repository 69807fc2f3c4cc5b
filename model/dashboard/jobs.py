"""Runs in the background: one process per run, so Cancel really stops the work.

A run is started in its own process, forked from a warm *forkserver* that has already imported
the model (so a run starts in milliseconds, not the seconds a fresh interpreter needs). That
process leads its own process group; the simulations it farms out go to workers forked from it
(:class:`ReportingExecutor`, again no import cost), which stay in the group and also die with
it. The page polls :meth:`Job.poll` for progress and the result; :meth:`Job.cancel` kills the
whole group, so a cancelled run stops at once rather than at its next checkpoint. Each browser
tab owns its own jobs: nothing here is shared between tabs.
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
from collections.abc import Callable
from typing import Any

from model.errors import InputError
from model.execution import InProcessExecutor

# Imported once by the forkserver, then inherited by every run it forks.
PRELOAD = ["model.dashboard.adapter"]

RUNNING, DONE, FAILED, CANCELLED = "running", "done", "failed", "cancelled"


def _context() -> multiprocessing.context.BaseContext:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def warm_up(timeout: float = 120.0) -> None:
    """Start the forkserver and wait until it has imported the model, so no click waits for it.

    One empty job goes through it: it can only start once the preload is done.
    """
    job = Job(_nothing, None)
    deadline = time.monotonic() + timeout
    while job.state == RUNNING and time.monotonic() < deadline:
        job.poll()
        time.sleep(0.02)


def _nothing(_arg: Any, _report: Callable[[int, int], None]) -> None:
    """The empty job of :func:`warm_up`."""


def _child(fn: Callable[..., Any], arg: Any, conn) -> None:
    """In the run's process: call ``fn(arg, report)`` and send progress, then the outcome."""
    # Ctrl-C in the terminal is for the server, which cancels (kills) its runs itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.setpgid(0, 0)  # a group of its own: Cancel kills it with every worker it forks
    # The server starts it as a daemon (it must not outlive the server), and multiprocessing
    # refuses children to daemons lest they be orphaned; ours cannot be: Cancel kills the
    # group, and each worker dies with this process (PR_SET_PDEATHSIG in _init_pool_worker).
    multiprocessing.current_process().daemon = False
    lock = threading.Lock()  # progress may be reported from a pool's callback thread

    def send(message: tuple) -> None:
        with lock:
            conn.send(message)

    def report(done: int, total: int) -> None:
        send(("progress", done, total))

    try:
        result = fn(arg, report)
    except InputError as err:
        send(("error", str(err)))
    except Exception as err:  # noqa: BLE001 - the page shows any failure as a message
        send(("error", f"{type(err).__name__}: {err}"))
    else:
        send(("done", result))
    finally:
        conn.close()


def _init_pool_worker() -> None:
    """A forked worker: leave Ctrl-C to the server, and die with the run's process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            pr_set_pdeathsig = 1
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)


class ReportingExecutor(cf.Executor):
    """The executor a run's simulations go through, calling ``on_done`` as each one finishes.

    ``workers == 1`` runs them in this process; more forks a pool from this process (which has
    the model imported already, so a worker starts in milliseconds; the pool is created before
    any thread, so forking is safe). Used as ``run_comparison(..., executor=...)``: the engine
    submits, this counts.

    Args:
        workers: processes (1: in-process).
        on_done: called with no arguments after each finished task (from a pool's thread).
    """

    def __init__(self, workers: int, on_done: Callable[[], None]) -> None:
        self.workers = max(1, int(workers))
        self._on_done = on_done
        self._inner: cf.Executor = (
            InProcessExecutor()
            if self.workers == 1
            else cf.ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_init_pool_worker,
            )
        )

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future:
        """Submit to the pool (or run now); ``on_done`` follows the task's end."""
        future = self._inner.submit(fn, *args, **kwargs)
        future.add_done_callback(lambda _future: self._on_done())
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Shut the pool down."""
        self._inner.shutdown(wait=wait, cancel_futures=cancel_futures)


class Job:
    """One background run: ``fn(arg, report)`` in its own process.

    Attributes:
        state: ``running``, ``done``, ``failed`` or ``cancelled``.
        done, total: progress as reported by the run (total is None until the first report).
        result: what ``fn`` returned (when ``done``).
        error: the message (when ``failed``).
    """

    def __init__(self, fn: Callable[..., Any], arg: Any) -> None:
        ctx = _context()
        self._conn, child_conn = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=_child, args=(fn, arg, child_conn), daemon=True)
        self.process.start()
        child_conn.close()  # ours closed: EOF on our end once the child is gone
        self.state = RUNNING
        self.done, self.total = 0, None
        self.result: Any = None
        self.error: str | None = None

    def poll(self) -> bool:
        """Read what the run sent since the last poll; True if anything changed."""
        changed = False
        while self.state == RUNNING:
            try:
                if not self._conn.poll():
                    break
                kind, *payload = self._conn.recv()
            except (EOFError, OSError):
                self.process.join(timeout=1)
                self._finish(
                    FAILED,
                    error=f"the run stopped unexpectedly (exit code {self.process.exitcode})",
                )
                return True
            changed = True
            if kind == "progress":
                self.done, self.total = payload
            elif kind == "done":
                self._finish(DONE, result=payload[0])
            else:
                self._finish(FAILED, error=payload[0])
        return changed

    def cancel(self) -> None:
        """Kill the run's process now (no-op when it already finished)."""
        if self.state != RUNNING:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)  # the run and its workers
        self.process.kill()  # in case it had not made its own group yet
        self.process.join(timeout=5)
        self._finish(CANCELLED)

    def _finish(self, state: str, *, result: Any = None, error: str | None = None) -> None:
        self.state, self.result, self.error = state, result, error
        self._conn.close()
        if state != CANCELLED:
            self.process.join(timeout=5)
