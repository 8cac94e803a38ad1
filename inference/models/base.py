"""The thin base class every model implements, and the prediction it returns.

The base does the shared work (checking shapes, batching, tensors and devices, putting the known
pixels back); a model only turns a batch of crops with holes into filled crops. Face cropping and
paste-back into the photo live in ``inference.pipeline``, never here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from inference.devices import autocast_for
from inference.errors import MaskError

if TYPE_CHECKING:
    from inference.models.registry import ModelSpec


@dataclass(frozen=True)
class Prediction:
    """One filled crop: ``image`` uint8 (R, R, 3) with the known pixels copied from the input."""

    image: np.ndarray
    landmarks_norm: np.ndarray | None = None


def check_batch(images: np.ndarray, holes: np.ndarray, resolution: int) -> None:
    if images.ndim != 4 or images.shape[1:] != (resolution, resolution, 3) or images.dtype != np.uint8:
        raise MaskError(f"Expected uint8 crops of shape (N, {resolution}, {resolution}, 3), got "
                        f"{images.dtype} {images.shape}.")
    if holes.shape != images.shape[:3]:
        raise MaskError(f"The mask batch {holes.shape} does not match the image batch {images.shape[:3]}.")
    empty = [i for i in range(len(holes)) if not holes[i].any()]
    if empty:
        raise MaskError(f"The mask of case {empty[0] + 1} has no painted region to fill.")


class InpaintModel(ABC):
    """A loaded model that fills holes in face crops at ``spec.resolution``."""

    batch_size = 4

    def __init__(self, spec: "ModelSpec", device: torch.device) -> None:
        self.spec = spec
        self.device = device

    def predict_batch(self, images: np.ndarray, holes: np.ndarray) -> list[Prediction]:
        """Fill ``holes`` (bool, True = hole) in ``images`` (uint8 RGB crops)."""
        holes = holes.astype(bool, copy=False)
        check_batch(images, holes, self.spec.resolution)
        return [p for _, p in self.iter_predictions(images, holes)]

    def iter_predictions(self, images: np.ndarray, holes: np.ndarray) -> Iterator[tuple[int, Prediction]]:
        """Yield ``(index, prediction)`` batch by batch, so callers can show progress and cancel."""
        holes = holes.astype(bool, copy=False)
        check_batch(images, holes, self.spec.resolution)
        for start in range(0, len(images), self.batch_size):
            chunk = slice(start, start + self.batch_size)
            filled, landmarks = self._fill(images[chunk], holes[chunk])
            for offset, image in enumerate(filled):
                composited = np.where(holes[chunk][offset][..., None], image, images[chunk][offset])
                yield start + offset, Prediction(composited, None if landmarks is None else landmarks[offset])

    @abstractmethod
    def _fill(self, images: np.ndarray, holes: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """uint8 (n, R, R, 3) filled images and optional (n, 68, 2) normalised landmarks."""


class TorchInpaintModel(InpaintModel):
    """A network called as ``net(image, hole) -> (image, landmarks)`` on NCHW tensors in [0, 1]."""

    def __init__(self, spec: "ModelSpec", device: torch.device, network: torch.nn.Module) -> None:
        super().__init__(spec, device)
        self.network = network.to(device).eval()

    @torch.inference_mode()
    def _fill(self, images: np.ndarray, holes: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        image_t = torch.from_numpy(images).to(self.device).permute(0, 3, 1, 2).float().div_(255)
        hole_t = torch.from_numpy(holes).to(self.device).unsqueeze(1).float()
        with autocast_for(self.device):
            out, landmarks = self.network(image_t, hole_t)
        out_u8 = out.float().clamp_(0, 1).mul_(255).round_().byte().permute(0, 2, 3, 1).cpu().numpy()
        return out_u8, None if landmarks is None else landmarks.float().cpu().numpy()
