"""Sample grids (masked input | output with predicted landmarks | ground truth) as PNG files."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) in [0, 1] to (N, H, W, 3) uint8."""
    return (x.detach().float().clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy() * 255 + 0.5).astype(np.uint8)


def masked_view(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    out = image.copy()
    out[hole] = (out[hole] // 3 + np.array([160, 160, 160], np.uint8) * 2 // 3)
    return out


def draw_landmarks(image: np.ndarray, landmarks_norm: np.ndarray | None) -> np.ndarray:
    out = image.copy()
    if landmarks_norm is None:
        return out
    size = out.shape[0]
    r = max(1, size // 128)
    for x, y in np.asarray(landmarks_norm) * size:
        cv2.circle(out, (int(x), int(y)), r, (0, 255, 0), -1)
    return out


def grid(rows: list[list[np.ndarray]], pad: int = 2) -> np.ndarray:
    """Tile equally sized RGB images row by row with a white border."""
    h, w = rows[0][0].shape[:2]
    cols = max(len(r) for r in rows)
    canvas = np.full((len(rows) * (h + pad) + pad, cols * (w + pad) + pad, 3), 255, np.uint8)
    for i, row in enumerate(rows):
        for j, tile in enumerate(row):
            if tile.shape[:2] != (h, w):
                tile = cv2.resize(tile, (w, h), interpolation=cv2.INTER_AREA)
            canvas[pad + i * (h + pad): pad + i * (h + pad) + h, pad + j * (w + pad): pad + j * (w + pad) + w] = tile
    return canvas


def save_png(path: Path, rgb: np.ndarray) -> None:
    """Write a picture; the suffix chooses the format (``.jpg`` at quality 88 keeps report grids small)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    params = [cv2.IMWRITE_JPEG_QUALITY, 88] if path.suffix.lower() in (".jpg", ".jpeg") else []
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params):
        raise OSError(f"Cannot write {path}")
