"""ipsecctl.transport."""
