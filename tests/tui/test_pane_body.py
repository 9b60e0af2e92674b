"""A pane's text is laid out at its own height even when it changes twice in one frame.

Textual caches a widget's box model under a layout generation that ``refresh(layout=True)``
advances only once per pending layout; when the pane was arranged between two updates (a
loaded machine: the why pane got "pending", the compositor re-arranged, then the first
poll's diagnosis came before the body's idle), the second text was drawn at the first one's
height, cut (seen in the main-screen snapshot). The arrangement in between is forced here,
so the test does not depend on the machine's load.
"""

from __future__ import annotations

from textual.app import App, ComposeResult

from ipsecctl.tui.diagnosing import FIRST_POLL
from ipsecctl.tui.widgets.diagnosis import PENDING, READY, DiagnosisPane


class _WhyApp(App[None]):
    CSS = "DiagnosisPane { width: 58; height: 9; padding: 0 1; }"

    def compose(self) -> ComposeResult:
        yield DiagnosisPane(id="diagnosis")


async def test_the_why_text_gets_its_own_height_after_two_updates_in_one_frame() -> None:
    app = _WhyApp()
    async with app.run_test(size=(80, 20)) as pilot:
        await pilot.pause()
        pane = app.query_one(DiagnosisPane)
        body = pane.body
        pane.show("edge-1 → 1.1.1.1", [], status=PENDING)  # two lines
        # the pane is arranged before the body's idle handler has run (what the compositor
        # did under load, from find_widget): the two-line box model is cached
        pane._clear_arrangement_cache()
        app.screen._refresh_layout()
        pane.show("edge-1 → 1.1.1.1", [], status=READY, message=FIRST_POLL)
        await pilot.pause()
        await pilot.pause()
        want = body.visual.get_height(body.styles, body.content_region.width)
        assert want > 2  # the first-poll text wraps
        assert body.region.height == want
