"""Command palette (``:`` / ctrl+p): jump to a device or peer, switch view, run an action.

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
            ("view: diagnosis", "diagnose the selection", app.action_diagnose),
            ("action: clear selected", "clear the selected or marked tunnels",
             partial(app.start_action, "clear")),
            ("action: re-key selected", "re-key the selected or marked tunnels",
             partial(app.start_action, "rekey")),
            ("export view", "write the current view to CSV/JSON", app.action_export),
        ]
        for col in ("peer", "state", "uptime", "device"):
            out.append((f"sort: {col}", f"sort the tunnels by {col}",
                        partial(app.action_sort, col)))
        seen: set[str] = set()
        for row in app.model.rows.values():
            if row.device not in seen:
                seen.add(row.device)
                out.append((f"device: {row.device}", "jump to its first tunnel",
                            partial(app.jump_to, row.key)))
            if row.tunnel.peer:
                out.append((f"peer: {row.tunnel.peer} @ {row.device}",
                            f"{row.cells.get('local', '')} <-> {row.cells.get('remote', '')}",
                            partial(app.jump_to, row.key)))
            if len(out) > 5000:  # the palette is for jumping, not for listing 10k tunnels
                break
        return out

    async def discover(self) -> Hits:
        for name, help_text, callback in self._entries()[:11]:
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._entries():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
