"""`python -m bench [--quick] [--only ...]`: see bench.runner."""

import sys

from .runner import main

sys.exit(main())
