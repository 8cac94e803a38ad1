"""The classical baselines of the seed papers: OpenCV's Telea and Navier-Stokes inpainting."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from inference.models.base import InpaintModel
from inference.models.registry import ModelSpec, register_model

_RADIUS = 5


class OpenCVInpaint(InpaintModel):
    def __init__(self, spec: ModelSpec, device: torch.device, flag: int) -> None:
        super().__init__(spec, device)
        self._flag = flag

    def _fill(self, images: np.ndarray, holes: np.ndarray) -> tuple[np.ndarray, None]:
        filled = [cv2.inpaint(img, hole.astype(np.uint8) * 255, _RADIUS, self._flag) for img, hole in zip(images, holes)]
        return np.stack(filled), None


for _name, _display, _flag, _paper in [
    ("opencv-telea", "OpenCV Telea (classical)", cv2.INPAINT_TELEA, "Telea, J. Graphics Tools 2004"),
    ("opencv-ns", "OpenCV Navier-Stokes (classical)", cv2.INPAINT_NS, "Bertalmio et al., CVPR 2001"),
]:
    register_model(ModelSpec(
        name=_name, display_name=_display, needs=frozenset({"image", "mask"}), resolution=256, neural=False,
        description=f"Fast-marching/PDE inpainting ({_paper}); no learned weights, radius {_RADIUS} px.",
        builder=lambda spec, device, flag=_flag: OpenCVInpaint(spec, device, flag),
    ))
