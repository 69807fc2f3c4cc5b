"""Runs in the background: one process per run, so Cancel really stops the work.

A run is started in its own process, forked from a warm *forkserver* that has already imported
the model (so a run starts in milliseconds, not the seconds a fresh interpreter needs). The page
polls :meth:`Job.poll` for progress and the result; :meth:`Job.cancel` kills the process, so a
cancelled run stops at once rather than at its next checkpoint. Each browser tab owns its own
jobs: nothing here is shared between tabs.
"""

from __future__ import annotations

import multiprocessing
import signal
import time
from collections.abc import Callable
from typing import Any

from model.errors import InputError

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

    def report(done: int, total: int) -> None:
        conn.send(("progress", done, total))

    try:
        result = fn(arg, report)
    except InputError as err:
        conn.send(("error", str(err)))
    except Exception as err:  # noqa: BLE001 - the page shows any failure as a message
        conn.send(("error", f"{type(err).__name__}: {err}"))
    else:
        conn.send(("done", result))
    finally:
        conn.close()


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
        self.process.kill()
        self.process.join(timeout=5)
        self._finish(CANCELLED)

    def _finish(self, state: str, *, result: Any = None, error: str | None = None) -> None:
        self.state, self.result, self.error = state, result, error
        self._conn.close()
        if state != CANCELLED:
            self.process.join(timeout=5)
