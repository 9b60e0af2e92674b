"""Packet diagnostics: ESP/AH decode and decrypt from captures, anti-replay analysis.

Modules: ``pcap`` (reader/writer, public ``iter_packets``), ``suites`` (algorithm table),
``keys`` (key-file formats), ``esp`` / ``ah`` (per-SA open/verify), ``replay`` (RFC 4303
window), ``inner`` (payload summaries), ``report`` (ties them together for ``diag esp``).
"""
