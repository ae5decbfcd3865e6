"""`python cli.py ...` does exactly what the `jepa` console script does (for checkouts without an install)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from jepa_world.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
