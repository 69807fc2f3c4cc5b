"""Regenerate the regression baselines on purpose: ``python tests/update_baseline.py``.

Commit the changed JSON together with the model change that moved it, and say why.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.regression import BASELINE_DIR, compute, load_stored, shipped, stored_path  # noqa: E402


def main() -> None:
    BASELINE_DIR.mkdir(exist_ok=True)
    for name in shipped():
        new = compute(name)
        old = load_stored(name) if stored_path(name).exists() else {}
        changed = sorted(k for k in new if old.get(k) != new[k])
        stored_path(name).write_text(json.dumps(new, indent=2, sort_keys=True) + "\n")
        print(
            f"{name}: {len(changed)} KPIs changed"
            + (f" ({', '.join(changed[:8])} …)" if changed else "")
        )


if __name__ == "__main__":
    main()
