"""Command-line entry point: ``python run.py --help``."""

import os
import sys

# The CLI only writes image files: never open a window or need a display. (The library itself
# leaves the backend alone, so notebooks keep inline plots.)
os.environ.setdefault("MPLBACKEND", "Agg")

from model.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
