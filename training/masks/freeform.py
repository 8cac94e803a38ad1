"""Free-form brush strokes (DeepFill v2 style), the kind of mask a user paints by hand."""

from __future__ import annotations

import cv2
import numpy as np


def free_form_mask(rng: np.random.Generator, size: int, max_strokes: int = 4, max_vertices: int = 8,
                   max_width_frac: float = 0.08) -> np.ndarray:
    """A bool (size, size) mask of 1..max_strokes random thick polylines."""
    canvas = np.zeros((size, size), np.uint8)
    for _ in range(int(rng.integers(1, max_strokes + 1))):
        x, y = rng.uniform(0, size, 2)
        width = max(2, int(rng.uniform(0.02, max_width_frac) * size))
        for _ in range(int(rng.integers(2, max_vertices + 1))):
            angle = rng.uniform(0, 2 * np.pi)
            length = rng.uniform(0.05, 0.25) * size
            nx = float(np.clip(x + length * np.cos(angle), 0, size - 1))
            ny = float(np.clip(y + length * np.sin(angle), 0, size - 1))
            cv2.line(canvas, (int(x), int(y)), (int(nx), int(ny)), 1, width)
            cv2.circle(canvas, (int(nx), int(ny)), width // 2, 1, -1)
            x, y = nx, ny
    return canvas.astype(bool)
