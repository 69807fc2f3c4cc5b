"""What a calibration or a forecast starts from: a scenario with overrides, a posterior.

Reading only: every problem is an :class:`~model.errors.InputError` naming the file, the value
and what is allowed, raised before any simulation starts or any file is written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.errors import InputError
from model.scenario import apply_overrides, resolve_raw, validate
from model.scenario.loader import scenario_files
from model.scenario.schema import Scenario


@dataclass(frozen=True)
class ScenarioInput:
    """A scenario as a calibration or forecast needs it.

    Attributes:
        raw: the resolved raw scenario with the overrides applied (what ABC perturbs).
        scenario: the same, validated.
        source: the file name (or ``<name>`` for a scenario object), for messages.
        files: the scenario file and every base it extends: inputs never to be written over.
        overrides: the dotted-key overrides that were applied.
    """

    raw: dict[str, Any]
    scenario: Scenario
    source: str
    files: list[Path] = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)


def resolve_scenario(
    scenario: str | os.PathLike | Scenario, overrides: dict[str, Any] | None = None
) -> ScenarioInput:
    """Resolve a scenario file (with its bases) or object and apply dotted-key overrides.

    Raises:
        InputError: the file is missing or malformed, or a value is not allowed.
    """
    overrides = dict(overrides or {})
    if isinstance(scenario, Scenario):
        raw = scenario.model_dump(mode="json")
        source, files = f"<{scenario.name}>", []
    else:
        source = str(scenario)
        raw = resolve_raw(source)
        raw.setdefault("name", Path(source).stem)
        files = scenario_files(source)
    raw = apply_overrides(raw, overrides)
    validated = validate(raw, source=source, overridden=overrides.keys())
    return ScenarioInput(raw, validated, source, files, overrides)


def read_posterior(directory: str | os.PathLike) -> pd.DataFrame:
    """Read ``DIR/posterior.csv`` (parameter columns and ``weight``) written by calibrate.

    Raises:
        InputError: no such file, not a CSV, or not a posterior (see :func:`check_posterior`).
    """
    path = Path(directory) / "posterior.csv"
    if not path.is_file():
        raise InputError(
            "no posterior.csv here; --posterior takes the --out directory of `run.py calibrate`",
            file=str(directory),
        )
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputError(f"not a readable CSV ({err})", file=str(path)) from None
    return check_posterior(frame, str(path))


def check_posterior(frame: pd.DataFrame, source: str = "<posterior>") -> pd.DataFrame:
    """A weighted posterior as floats: parameter columns and ``weight`` ≥ 0, not all zero.

    Raises:
        InputError: no weight column, no parameters or rows, a value that is not a finite
            number, a negative weight, or every weight 0.
    """
    if "weight" not in frame.columns:
        raise InputError(
            f"no 'weight' column (columns: {', '.join(map(str, frame.columns))}); expected the "
            "posterior.csv written by `run.py calibrate`",
            file=source,
        )
    params = [c for c in frame.columns if c != "weight"]
    if not params or frame.empty:
        raise InputError("no parameter columns or no rows", file=source)
    frame = frame.copy()
    for col in frame.columns:
        values = pd.to_numeric(frame[col], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(float)) | (values < 0 if col == "weight" else False)
        if bad.any():
            i = int(np.argmax(bad))
            raise InputError(
                f"line {i + 2}, column {col!r}: {frame[col].iloc[i]!r} is not "
                + ("a weight ≥ 0" if col == "weight" else "a number"),
                file=source,
            )
        frame[col] = values.astype(float)
    if frame["weight"].sum() <= 0:
        raise InputError("every weight is 0", file=source)
    return frame
