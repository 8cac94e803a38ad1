"""The classical baselines: OpenCV's Telea and Navier-Stokes inpainting (the seed papers') and the
harmonic (membrane) fill that the NCLG-MT variants with a coarse fill start from."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from inference.checkpoints import DEFAULT_RESOLUTION, NETWORK_INPUTS
from inference.models.base import InpaintModel, TorchInpaintModel
from inference.models.coarse_fill import harmonic_fill
from inference.models.registry import ModelSpec, register_model

#: The classical fills work at any size; they get the face crop at the networks' resolution so a
#: study compares them on the same pixels.
_RESOLUTION = DEFAULT_RESOLUTION

_RADIUS = 5
_NEEDS = frozenset({"image", "mask"})


class OpenCVInpaint(InpaintModel):
    def __init__(self, spec: ModelSpec, device: torch.device, flag: int) -> None:
        super().__init__(spec, device)
        self._flag = flag

    def _fill(self, images: np.ndarray, holes: np.ndarray) -> tuple[np.ndarray, None]:
        filled = [cv2.inpaint(img, hole.astype(np.uint8) * 255, _RADIUS, self._flag) for img, hole in zip(images, holes)]
        return np.stack(filled), None


class HarmonicFillNetwork(torch.nn.Module):
    """The fill alone, called like a network (no weights, no landmarks), so ``TorchInpaintModel`` runs it.

    Shown on its own so a study can tell what the NCLG-MT networks add to their coarse stage.
    """

    def forward(self, image: torch.Tensor, hole: torch.Tensor) -> tuple[torch.Tensor, None]:
        return harmonic_fill(image, hole), None


for _name, _display, _flag, _paper in [
    ("opencv-telea", "OpenCV Telea (classical)", cv2.INPAINT_TELEA, "Telea, J. Graphics Tools 2004"),
    ("opencv-ns", "OpenCV Navier-Stokes (classical)", cv2.INPAINT_NS, "Bertalmio et al., CVPR 2001"),
]:
    register_model(ModelSpec(
        name=_name, display_name=_display, needs=_NEEDS, resolution=_RESOLUTION, neural=False,
        input_convention="uint8 RGB crop and hole (cv2.inpaint, hole = 255)",
        description=f"Fast-marching/PDE inpainting ({_paper}); no learned weights, radius {_RADIUS} px.",
        builder=lambda spec, device, flag=_flag: OpenCVInpaint(spec, device, flag),
    ))

register_model(ModelSpec(
    name="harmonic-fill", display_name="Harmonic fill (classical)", needs=_NEEDS, resolution=_RESOLUTION,
    neural=False, coarse_fill="harmonic", input_convention=NETWORK_INPUTS["harmonic"].split(";")[0],
    description="The smoothest surface meeting the hole's border (Laplace equation, solved coarse to fine); "
                "no learned weights. The coarse stage of the shipped NCLG-MT lite networks.",
    builder=lambda spec, device: TorchInpaintModel(spec, device, HarmonicFillNetwork()),
))
