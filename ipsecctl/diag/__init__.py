"""ipsecctl.diag."""
