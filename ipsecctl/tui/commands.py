"""Command palette (ctrl+p): jump to a device or peer, switch view, run an action or a
packet diagnostic.

Actions found here go through the same ``start_action`` as the keys, so read-only mode and
the confirmation screen apply to them too.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from ipsecctl.tui.app import IpsecApp


class DashboardCommands(Provider):
    def _entries(self) -> list[tuple[str, str, Callable[[], Any]]]:
        app: IpsecApp = self.app  # type: ignore[assignment]
        out: list[tuple[str, str, Callable[[], Any]]] = [
            ("view: wide", "toggle SPIs, transforms and lifetimes", app.action_wide),
            ("view: faults only", "toggle hiding healthy tunnels", app.action_faults),
            ("view: events", "show the events pane", app.action_events),
            (
                "view: why (diagnosis)",
                "why the selected tunnel is in its state",
                app.action_diagnose,
            ),
            ("view: IKE SAs", "every IKE SA of the fleet (:ike)", app.open_ike),
            (
                "action: clear selected",
                "clear the selected or marked tunnels",
                partial(app.start_action, "clear"),
            ),
            (
                "action: re-key selected",
                "re-key the selected or marked tunnels",
                partial(app.start_action, "rekey"),
            ),
            (
                "diag: IKE probe of the peer",
                "send an IKE first message to the selected "
                "tunnel's peer with the device's proposals (i)",
                partial(app.start_tool, "probe"),
            ),
            (
                "diag: capture ESP/IKE on the device",
                "packet capture on the selected tunnel's device, decoded here (x)",
                partial(app.start_tool, "capture"),
            ),
            (
                "diag: decode ESP/IKE capture file",
                "decode and decrypt a pcap with its keys, chosen in a file picker (o)",
                partial(app.start_tool, "decode"),
            ),
            (
                "diag: device logs explained",
                "the selected device's log lines, explained",
                self._logs,
            ),
            (
                "shell: SSH to the device",
                "interactive SSH shell on the selected device (s)",
                app.action_shell,
            ),
            ("refresh now", "poll every device now (ctrl+r)", app.action_refresh_now),
            ("pause / resume polling", "stop or restart the poll schedule (p)", app.action_pause),
            ("export view", "write the current view to CSV/JSON", app.action_export),
        ]
        for col in ("peer", "state", "uptime", "device"):
            out.append(
                (f"sort: {col}", f"sort the tunnels by {col}", partial(app.action_sort, col))
            )
        seen: set[str] = set()
        for row in app.model.rows.values():
            if row.device not in seen:
                seen.add(row.device)
                out.append(
                    (
                        f"device: {row.device}",
                        "open the device screen",
                        partial(app.open_device, row.device),
                    )
                )
            if row.tunnel.peer:
                out.append(
                    (
                        f"peer: {row.tunnel.peer} @ {row.device}",
                        f"{row.cells.get('local', '')} <-> {row.cells.get('remote', '')}",
                        partial(app.open_tunnel, row.key),
                    )
                )
            if len(out) > 5000:  # the palette is for jumping, not for listing 10k tunnels
                break
        return out

    def _logs(self) -> None:
        app: IpsecApp = self.app  # type: ignore[assignment]
        row = app.table.cursor_row
        device = row.device if row is not None else next(iter(app.infos), None)
        if device is not None:
            app.open_device(device, "logs")

    async def discover(self) -> Hits:
        for name, help_text, callback in self._entries()[:16]:
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._entries():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
