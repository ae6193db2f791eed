"""``python -m dac_minimal.codec`` is ``python -m dac_minimal``: see ``cli``."""

import sys

from dac_minimal.codec.cli import main

sys.exit(main())
