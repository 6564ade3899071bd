"""`python -m wake.cli`."""

import sys

from . import main

sys.exit(main())
