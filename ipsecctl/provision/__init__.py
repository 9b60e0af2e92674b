"""ipsecctl.provision."""
