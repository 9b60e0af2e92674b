"""ipsecctl.cli."""
