"""``python -m bench --help``: see ``bench.run``."""

import sys

from bench.run import main

sys.exit(main())
