"""TTP templates per platform and command, and ``parse(platform, command, text)``.

Contract (this package imports nothing from ``ipsecctl``):

``parse(platform, command, text) -> dict[str, list[dict]]`` returns plain records keyed by kind:
``ike_sas`` (keys = ``ipsecctl.models.IkeSa`` field names), ``tunnels`` (keys = ``Tunnel`` field
names, with ``sas`` a list of ``IpsecSa``-shaped dicts and ``local_ts``/``remote_ts`` as
``{prefix, protocol, port}``), and for configuration/other commands their own kinds.
Records never carry ``device``/``platform``; the caller adds them. Values the output does not
show are absent or ``None``. Output the template does not recognise raises :class:`ParseError`
naming the command and the first unrecognised line; an empty but valid output returns empty
lists.
"""
