"""The operations layer: the one place both front ends (``cli/`` and ``tui/``) go through.

- :mod:`~ipsecctl.ops.fleet`: polling and refresh, previous polls, the history store;
- :mod:`~ipsecctl.ops.faults`: the single definition of a fault (and the findings behind it);
- :mod:`~ipsecctl.ops.workflow`: every device-changing action (policy, confirmation, locks,
  audit trail, progress events), with :mod:`~ipsecctl.ops.tunnel_actions` for clear/re-key
  and :mod:`~ipsecctl.ops.capture` for packet captures on the device;
- :mod:`~ipsecctl.ops.export`: the JSON and CSV documents scripts read;
- :mod:`~ipsecctl.ops.formatting`: how values look to people, in every view;
- :mod:`~ipsecctl.ops.setup`: building these from settings and inventory hosts.

Nothing here renders or prompts: a front end passes callbacks (confirmation, progress) and
draws what comes back.
"""
