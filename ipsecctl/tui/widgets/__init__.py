"""One widget per dashboard pane; each draws state it is given and never polls or parses."""
