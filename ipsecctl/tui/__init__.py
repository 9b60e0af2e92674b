"""ipsecctl.tui."""
