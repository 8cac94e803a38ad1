"""The photo + mask view: painting tools, overlays, zoom/pan and the per-stroke undo stack."""
