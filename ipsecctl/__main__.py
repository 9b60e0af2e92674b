"""``python -m ipsecctl``: the same entry point as the console script."""

import sys

from ipsecctl.cli.app import main

sys.exit(main())
