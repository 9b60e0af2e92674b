"""What every dashboard screen shares: the breadcrumb line, the footer, zooming a pane, and
read-only mode hiding the keys that would change a device (and saying so when one is typed)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from textual import events
from textual.binding import ActiveBinding
from textual.screen import Screen
from textual.widget import Widget

from ipsecctl.tui.widgets.crumbs import Crumbs

if TYPE_CHECKING:
    from ipsecctl.tui.app import IpsecApp

# actions that change a device, or hand the operator a shell on it: hidden when read-only
DEVICE_ACTIONS = frozenset({"clear", "rekey", "capture", "shell"})


class DashScreen(Screen[Any]):
    ALLOW_IN_MAXIMIZED_VIEW = "Footer, Crumbs"
    #: actions left out of the footer below ``NARROW`` columns (still bound; ``?`` lists them)
    NARROW_HIDDEN: frozenset[str] = frozenset({"mark", "zoom"})
    NARROW = 100

    @property
    def dash(self) -> IpsecApp:
        return self.app  # type: ignore[return-value]

    @property
    def crumbs(self) -> Crumbs:
        return self.query_one(Crumbs)

    def trail(self) -> list[str]:
        return []

    def on_mount(self) -> None:
        self.fit_footer(self.app.size.width)

    def on_resize(self, event: events.Resize) -> None:
        self.fit_footer(event.size.width)

    def fit_footer(self, width: int) -> None:
        """Compact keys below 160 columns; the palette's key only from 140 (``:`` and
        ``ctrl+p`` are in ``?`` anyway), so every screen's keys fit 80 columns."""
        from textual.widgets import Footer

        for footer in self.query(Footer):
            footer.compact = width < 160
            show = width >= 140
            if footer.show_command_palette != show:
                footer.show_command_palette = show
                footer.refresh(recompose=True)

    def on_screen_resume(self) -> None:
        self.crumbs.set_trail(self.trail())
        self.dash.update_status()

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """As Textual's, with the less used keys out of the footer on a narrow terminal, so
        the ones an operator needs (and ? and q) always fit in 80 columns."""
        found = super().active_bindings
        if self.app.size.width >= self.NARROW:
            return found
        out = {}
        for key, active in found.items():
            if active.binding.show and active.binding.action in self.NARROW_HIDDEN:
                active = active._replace(binding=dataclasses.replace(active.binding, show=False))
            out[key] = active
        return out

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # a device action in read-only mode is not offered at all: the footer shows only what
        # can be done
        return not (action in DEVICE_ACTIONS and self.dash.read_only)

    def on_key(self, event: events.Key) -> None:
        """A device action typed in read-only mode: hidden keys are not run by Textual, so
        say why here instead of ignoring the key silently."""
        if not self.dash.read_only:
            return
        for binding in self._bindings.key_to_bindings.get(event.key, []):
            if binding.action in DEVICE_ACTIONS:
                self.dash.refuse(binding.action)
                event.stop()
                return

    def pane_of(self, widget: Widget | None) -> Widget | None:
        """The pane (a widget with the ``pane`` class) that holds ``widget``."""
        node: Any = widget
        while node is not None and isinstance(node, Widget):
            if node.has_class("pane"):
                return node
            node = node.parent
        return None

    def action_zoom(self) -> None:
        """The focused pane fills the window (again, or Esc: back)."""
        if self.maximized is not None:
            self.minimize()
            return
        pane = self.pane_of(self.focused)
        if pane is not None:
            self.maximize(pane, container=False)
