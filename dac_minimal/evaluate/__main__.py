"""``python -m dac_minimal.evaluate``: see ``evaluation``."""

import sys

from dac_minimal.evaluate.evaluation import main

sys.exit(main())
