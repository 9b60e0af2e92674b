"""ipsecctl.lab."""
