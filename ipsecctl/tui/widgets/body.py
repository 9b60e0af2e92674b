"""The text of a pane: a Static whose laid-out height follows every change of its content.

A workaround for Textual 8.2 (``textual/widget.py``): ``Widget._get_box_model`` caches a
widget's size under a key that holds ``self._layout_updates``, and ``Widget.refresh``
advances that counter only for the first ``refresh(layout=True)`` before the widget's idle
handler (``_check_refresh``) takes the pending layout (``if layout and not
self._layout_required``). When the parent is arranged in that window (say by
``Compositor.full_map`` for a ``find_widget``), the box model of the first new text is
cached under the advanced key; a second ``update`` before the idle leaves the key as it was,
so the layout that follows reuses the first text's height and cuts the second (on a loaded
machine the why pane drew the wrapped first-poll diagnosis at the two-line height of the
"pending" text just before it). ``clear_cached_dimensions`` does not help: it clears the
content width and height caches, not the box model cache above them.
"""

from __future__ import annotations

from typing import Self

from textual.geometry import Region
from textual.widgets import Static


class PaneBody(Static):
    """A Static for text that changes, and changes height, while the app runs."""

    def refresh(
        self,
        *regions: Region,
        repaint: bool = True,
        layout: bool = False,
        recompose: bool = False,
    ) -> Self:
        if layout:
            # every layout request is a new layout generation, pending one or not, so a box
            # model cached since the last one is not reused (see the module's docstring)
            self._layout_updates += 1
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)
