"""``python -m datatailr_jupyter.demo --store DIR [--runs N]``."""

import sys

from . import main

sys.exit(main())
