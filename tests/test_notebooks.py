"""Execute every notebook in notebooks/ with nbclient; any cell error fails the test.

Notebooks are clients of the package with small settings, so they run in CI. The kernel is
``python3``, pinned to *this* interpreter through a throwaway kernelspec put first on
``JUPYTER_PATH``: a fresh clone after ``pip install -e ".[test]"`` needs nothing else, and a
``python3`` kernelspec of some other Python on the machine cannot hijack the run.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
ALL = sorted(NOTEBOOKS.glob("*.ipynb"))
# Notebooks held to "quiet": nothing on stderr (no warnings, no library log lines, no progress
# bars) and each figure shown once.
QUIET = {"01_quickstart.ipynb", "04_fit_and_forecast.ipynb"}


@pytest.fixture
def python3_kernel(tmp_path, monkeypatch):
    """A ``python3`` kernelspec that launches the interpreter running the tests."""
    spec_dir = tmp_path / "jupyter" / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3 (tests)",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv(
        "JUPYTER_PATH",
        os.pathsep.join(filter(None, [str(tmp_path / "jupyter"), os.environ.get("JUPYTER_PATH")])),
    )
    # The kernel imports the package from this checkout even if it is not installed.
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return "python3"


def test_notebooks_exist():
    """The two notebooks this suite promises are there."""
    names = {p.name for p in ALL}
    assert {"01_quickstart.ipynb", "02_compare_strategies.ipynb"} <= names


@pytest.mark.parametrize("path", ALL, ids=[p.name for p in ALL])
def test_notebook_runs_without_errors(path, python3_kernel):
    """Every cell of the notebook runs without an error."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name=python3_kernel,
        timeout=600,
        allow_errors=False,
        resources={"metadata": {"path": str(path.parent)}},  # run from notebooks/, like Jupyter
    )
    try:
        client.execute()
    except CellExecutionError as err:
        pytest.fail(f"{path.name}: a cell raised:\n{err}")
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors, f"{path.name}: {errors[0].get('ename')}: {errors[0].get('evalue')}"
    if path.name in QUIET:
        for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
            outputs = cell.get("outputs", [])
            noise = [o["text"] for o in outputs if o.get("name") == "stderr"]
            assert not noise, f"{path.name}, code cell {i}: stderr {noise[0][:300]!r}"
            images = [o for o in outputs if "image/png" in o.get("data", {})]
            assert len(images) <= 1, f"{path.name}, code cell {i}: a figure shown twice"
