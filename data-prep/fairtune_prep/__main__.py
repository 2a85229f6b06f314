"""Entry point for ``python -m fairtune_prep``."""

import sys

from .cli import main

sys.exit(main())
