"""Makes ``fairtune_prep`` importable when pytest runs from the repository root without installing."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
