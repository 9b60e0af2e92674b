"""ipsecctl: live IPsec tunnel operations for Cisco IOS/IOS-XE/ASA and strongSwan."""

__version__ = "0.1.0"
