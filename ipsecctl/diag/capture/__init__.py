"""Capture analysis: printed captures as input, the per-SPI/IKE capture report, key logs.

Modules: ``formats`` (capture format names), ``printed`` (IOS/IOS-XE, ASA and plain hex dumps
read into the same segments as pcap files), ``analysis`` (``diag capture``'s report from
captured packets and the device's SAs), ``charon_keys`` (key material from strongSwan logs).
"""
