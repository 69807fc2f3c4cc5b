"""The evaluations store: every finished run of an optimisation, by content address.

Layout: ``DIR/part-*.parquet``, one row per run: ``key, status, error`` (``status`` is ``ok`` or
``error``: a run that raised is a result too, its candidate counts as infeasible), one float
column ``kpi.<name>`` per KPI and ``cum`` (the daily cumulative contribution, when the payback
constraint needs it). Each part is written whole under a temporary name and renamed
(:func:`model.outputs.atomic_write`), so an interrupted run loses at most the runs not yet
flushed, and the next run (a resume) reads every part and runs only what is missing. Because
keys are content addresses (package version, resolved scenario, seed), a search replayed with
the same spec finds every run it made before, whatever the order or number of workers.
"""

from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.outputs import atomic_write, remove_stale_temporaries

KPI_PREFIX = "kpi."


class EvaluationStore:
    """Finished runs by key; in memory, persisted as Parquet parts (None: memory only)."""

    def __init__(self, path: str | os.PathLike | None = None, *, flush_every: int = 32) -> None:
        self.path = Path(path) if path is not None else None
        self.flush_every = int(flush_every)
        self._rows: dict[str, dict[str, Any]] = {}
        self._pending: list[str] = []
        self.n_loaded = 0
        if self.path is not None and self.path.is_dir():
            remove_stale_temporaries(self.path)
            for part in sorted(self.path.glob("part-*.parquet")):
                for row in pd.read_parquet(part).to_dict("records"):
                    self._rows[row["key"]] = _from_row(row)
            self.n_loaded = len(self._rows)

    def __contains__(self, key: str) -> bool:
        return key in self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored record of a run: ``status, error, kpis, cum``."""
        return self._rows.get(key)

    def put(self, key: str, record: dict[str, Any]) -> None:
        """Keep one finished run; written to disk every ``flush_every`` runs."""
        self._rows[key] = record
        self._pending.append(key)
        if len(self._pending) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        """Write the runs not yet on disk as one part file (whole or not at all)."""
        if not self._pending or self.path is None:
            self._pending = []
            return
        self.path.mkdir(parents=True, exist_ok=True)
        rows = [_to_row(k, self._rows[k]) for k in self._pending]
        name = hashlib.sha256("".join(self._pending).encode()).hexdigest()[:20]
        frame = pd.DataFrame(rows)
        atomic_write(self.path / f"part-{name}.parquet", lambda p: frame.to_parquet(p, index=False))
        self._pending = []


def _to_row(key: str, record: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"key": key, "status": record["status"], "error": record.get("error")}
    for name, value in (record.get("kpis") or {}).items():
        row[KPI_PREFIX + name] = float("nan") if value is None else float(value)
    cum = record.get("cum")
    row["cum"] = None if cum is None else [float(v) for v in cum]
    return row


def _from_row(row: dict[str, Any]) -> dict[str, Any]:
    kpis = {}
    for column, value in row.items():
        if column.startswith(KPI_PREFIX):
            v = float(value) if value is not None else float("nan")
            kpis[column[len(KPI_PREFIX) :]] = None if math.isnan(v) else v
    cum = row.get("cum")
    return {
        "status": row["status"],
        "error": row.get("error"),
        "kpis": kpis,
        "cum": None if cum is None else np.asarray(cum, dtype=float),
    }
