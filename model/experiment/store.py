"""The store of finished runs: Parquet part files, one row per run, written atomically.

One store for every experiment. Layout of ``DIR``::

    DIR/sweep.json            a sweep's plan: spec, points, (point, replicate) -> run key
    DIR/runs/part-*.parquet   finished runs, any number of files, append-only
    DIR/plots/*.png           figures of the last analysis

A comparison keeps its store beside its output directory (``.NAME.runs/``, with ``runs/``
only) until its outputs are written.

A part file is written under a temporary name and moved into place with ``os.replace``
(:func:`model.outputs.atomic_write`), so a reader (or a resumed sweep) sees whole files or
nothing, even after ``kill -9``; the next writer removes temporaries of dead processes. Rows are
keyed by the content-addressed ``run_key`` (:mod:`model.sweep.runs`); any directory may hold
runs of several specs, and a run stored once is never run again. Run rows are wide: ``run_key,
root_seed, replicate, seed, status, error, traceback, attempts, elapsed_s, package_version``,
one float column ``kpi.<name>`` per KPI of the run's summary and, for comparisons, one list
column ``series.<metric>`` per daily metric (the run's daily table, one value a day).

``status`` is ``"ok"``, ``"error"`` (the run raised: a result, kept) or ``"lost"`` (its worker
kept dying: not a result, run again on resume).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from model.outputs import atomic_write, remove_stale_temporaries

KPI_PREFIX = "kpi."
SERIES_PREFIX = "series."
FINISHED = ("ok", "error")
BASE_COLUMNS = (
    "run_key",
    "root_seed",
    "replicate",
    "seed",
    "status",
    "error",
    "traceback",
    "attempts",
    "elapsed_s",
    "package_version",
)
#: What a sweep or sensitivity run writes in its directory (recorded in the output marker).
STORE_FILES = ("sweep.json", "runs/", "plots/", "indices.csv")


def looks_like_store(path: str | os.PathLike) -> bool:
    """Whether an unmarked directory is a results store of an earlier version of this tool.

    Only the store's own entries, and either a manifest with its keys or only part files.
    """
    root = Path(path)
    names = {p.name for p in root.iterdir()}
    if not names or not names <= {"sweep.json", "runs", "plots", "indices.csv"}:
        return False
    try:
        manifest = json.loads((root / "sweep.json").read_text())
        if isinstance(manifest, dict) and {"kind", "points", "package_version"} <= manifest.keys():
            return True
    except (OSError, ValueError):
        pass
    runs = root / "runs"
    return runs.is_dir() and all(p.name.startswith(("part-", ".part-")) for p in runs.iterdir())


class ResultStore:
    """Run rows of one directory."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.runs_dir = self.root / "runs"

    def part_files(self) -> list[Path]:
        """Finished part files, oldest name first (temporary files are never listed)."""
        if not self.runs_dir.exists():
            return []
        return sorted(self.runs_dir.glob("part-*.parquet"))

    def read(self, columns: list[str] | None = None, *, series: bool = False) -> pd.DataFrame:
        """All stored runs, one row per run key (a finished row wins over a lost one).

        Args:
            columns: only these columns (default: all but the daily series).
            series: also the ``series.*`` columns (a comparison's daily tables).
        """
        frames = []
        for part in self.part_files():
            names = pq.read_schema(part).names
            wanted = [
                c
                for c in names
                if (c.startswith(SERIES_PREFIX) and series)
                or (not c.startswith(SERIES_PREFIX) and (columns is None or c in columns))
            ]
            frames.append(pq.read_table(part, columns=wanted).to_pandas())
        if not frames:
            return pd.DataFrame(columns=list(columns or BASE_COLUMNS))
        frame = pd.concat(frames, ignore_index=True)
        if "status" in frame:
            # If a run is stored twice (two sweeps sharing a directory, or a run lost and run
            # again), prefer a finished row.
            frame["_rank"] = (~frame["status"].isin(FINISHED)).astype(int)
            frame = frame.sort_values(["_rank"], kind="stable").drop(columns="_rank")
        return frame.drop_duplicates("run_key", keep="first").reset_index(drop=True)

    def finished_keys(self) -> set[str]:
        """Run keys with a result (ok or a recorded error): these are never run again."""
        frame = self.read(columns=["run_key", "status"])
        return set(frame.loc[frame["status"].isin(FINISHED), "run_key"])

    @contextlib.contextmanager
    def writer(
        self, *, flush_rows: int = 500, flush_seconds: float = 2.0, max_flush_seconds: float = 60.0
    ) -> Iterator[PartWriter]:
        """A buffered writer that always flushes what it holds, even on Ctrl-C.

        The interval between part files starts at ``flush_seconds`` and doubles up to
        ``max_flush_seconds``: short sweeps show results at once, long ones do not pile up
        thousands of files, and a ``kill -9`` loses at most a minute of finished runs.
        """
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self._remove_stale_temporaries()
        writer = PartWriter(
            self.runs_dir,
            flush_rows=flush_rows,
            flush_seconds=flush_seconds,
            max_flush_seconds=max_flush_seconds,
        )
        try:
            yield writer
        finally:
            writer.flush()

    def _remove_stale_temporaries(self) -> None:
        # Left by a writer killed between write and rename; a live writer's file is kept.
        remove_stale_temporaries(self.runs_dir)


class PartWriter:
    """Buffers run rows and writes them as part files (atomically) every N rows or T seconds."""

    def __init__(
        self, folder: Path, *, flush_rows: int, flush_seconds: float, max_flush_seconds: float
    ) -> None:
        self.folder = folder
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self.max_flush_seconds = max_flush_seconds
        self.rows: list[dict[str, Any]] = []
        self.last_flush = time.monotonic()
        self.written = 0
        self._seq = 0

    def add(self, row: dict[str, Any]) -> None:
        """Buffer one run row; flush if the buffer is big or old enough."""
        self.rows.append(row)
        if len(self.rows) >= self.flush_rows or (
            time.monotonic() - self.last_flush >= self.flush_seconds
        ):
            self.flush()

    def flush(self) -> None:
        """Write the buffered rows as one part file (no-op when empty)."""
        self.last_flush = time.monotonic()
        if not self.rows:
            return
        frame = pd.DataFrame(self.rows)
        for col in frame.columns:
            if col.startswith(KPI_PREFIX):
                frame[col] = frame[col].astype("float64")
        table = pa.Table.from_pandas(frame, preserve_index=False)
        # Daily series as lists of float64 (an all-missing column would otherwise be null).
        for i, name in enumerate(table.column_names):
            if name.startswith(SERIES_PREFIX):
                table = table.set_column(i, name, table.column(name).cast(pa.list_(pa.float64())))
        self._seq += 1
        name = f"part-{time.time_ns():020d}-{os.getpid()}-{self._seq:05d}.parquet"
        atomic_write(self.folder / name, lambda tmp: pq.write_table(table, tmp))
        self.written += len(self.rows)
        self.rows = []
        self.flush_seconds = min(2 * self.flush_seconds, self.max_flush_seconds)


def read_manifest(root: str | os.PathLike) -> dict[str, Any]:
    """The plan a sweep directory was last run with."""
    path = Path(root) / "sweep.json"
    if not path.exists():
        raise FileNotFoundError(f"{root}: no sweep.json; is this a sweep output directory?")
    return json.loads(path.read_text())


def write_manifest(root: str | os.PathLike, manifest: dict[str, Any]) -> None:
    """Write the plan atomically."""
    Path(root).mkdir(parents=True, exist_ok=True)
    atomic_write(Path(root) / "sweep.json", json.dumps(manifest, indent=1, sort_keys=True))


def result_hash(runs: pd.DataFrame) -> str:
    """A digest of the results of the given runs, independent of row order and of timings.

    Covers each run's key, status, error message (not its traceback) and every KPI value to
    the last bit, so two sweeps that agree here computed the same numbers.
    """
    digest = hashlib.sha256()
    # A KPI column that is empty for every one of these runs (undefined everywhere, or only
    # present because other runs share the directory) says nothing about them: skip it.
    kpi_cols = sorted(c for c in runs.columns if c.startswith(KPI_PREFIX) and runs[c].notna().any())
    for _, row in runs.sort_values("run_key").iterrows():
        values = []
        for col in kpi_cols:
            v = row[col]
            values.append("nan" if v is None or pd.isna(v) else float(v).hex())
        error = row.get("error")
        digest.update(
            "|".join(
                [
                    row["run_key"],
                    str(row["status"]),
                    "" if error is None or pd.isna(error) else str(error),
                    *values,
                ]
            ).encode()
        )
        digest.update(b"\n")
    return digest.hexdigest()
