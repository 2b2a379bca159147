"""`python -m bench [--quick] [--only ...] [--publish] [--against REV]`: see bench.cli."""

import sys

from .cli import main

sys.exit(main())
