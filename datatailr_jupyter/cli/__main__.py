"""``python -m datatailr_jupyter.cli``: the ``dt`` command without its entry-point script."""

import sys

from . import main

sys.exit(main())
