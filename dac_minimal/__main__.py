"""``python -m dac_minimal encode|decode|info``: the codec's command line (``codec/cli.py``)."""

import sys

from dac_minimal.codec.cli import main

sys.exit(main())
