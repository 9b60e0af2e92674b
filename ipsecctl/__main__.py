"""``python -m ipsecctl``: the same entry point as the console script."""

from ipsecctl.cli.console import run

run()
