"""The thin base class every model implements, and the prediction it returns.

The base does the shared work (checking shapes, batching, tensors and devices, putting the known
pixels back); a model only turns a batch of crops with holes into filled crops. Face cropping and
paste-back into the photo live in ``inference.pipeline``, never here.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from inference.devices import autocast_for
from inference.errors import MaskError, SteeringError

if TYPE_CHECKING:
    from inference.models.registry import ModelSpec


@dataclass(frozen=True)
class Prediction:
    """One filled crop: ``image`` uint8 (R, R, 3) with the known pixels copied from the input.

    ``landmarks_norm``: the landmarks the network predicted; ``guide_norm``: the landmarks its image
    branch drew from when it was steered (given points, predicted ones where none were given), else None.
    """

    image: np.ndarray
    landmarks_norm: np.ndarray | None = None
    guide_norm: np.ndarray | None = None


def check_batch(images: np.ndarray, holes: np.ndarray, resolution: int) -> None:
    if images.ndim != 4 or images.shape[1:] != (resolution, resolution, 3) or images.dtype != np.uint8:
        raise MaskError(f"Expected uint8 crops of shape (N, {resolution}, {resolution}, 3), got "
                        f"{images.dtype} {images.shape}.")
    if holes.shape != images.shape[:3]:
        raise MaskError(f"The mask batch {holes.shape} does not match the image batch {images.shape[:3]}.")
    empty = [i for i in range(len(holes)) if not holes[i].any()]
    if empty:
        raise MaskError(f"The mask of case {empty[0] + 1} has no painted region to fill.")


def check_guide(landmarks: np.ndarray, count: int) -> np.ndarray:
    """(count, 68, 2) float32 landmarks in [0, 1] of the crop; NaN marks a point the network keeps its own for."""
    guide = np.asarray(landmarks, np.float32)
    if guide.shape != (count, 68, 2):
        raise SteeringError(f"Expected 68 landmarks (x, y) for each of the {count} case(s), got shape {guide.shape}.")
    if np.isinf(guide).any():
        raise SteeringError("A landmark has an infinite coordinate.")
    given = guide[np.isfinite(guide)]
    if given.size and (given.min() < 0 or given.max() > 1):
        raise SteeringError("A given landmark lies outside the face square the model works on; move it back "
                            "onto the face.")
    return guide


class InpaintModel(ABC):
    """A loaded model that fills holes in face crops at ``spec.resolution``."""

    batch_size = 4

    def __init__(self, spec: "ModelSpec", device: torch.device) -> None:
        self.spec = spec
        self.device = device

    @property
    def accepts_landmarks(self) -> bool:
        """Whether given landmarks steer this model (``predict_batch(..., landmarks=...)``)."""
        return False

    def predict_batch(self, images: np.ndarray, holes: np.ndarray,
                      landmarks: np.ndarray | None = None) -> list[Prediction]:
        """Fill ``holes`` (bool, True = hole) in ``images`` (uint8 RGB crops).

        ``landmarks`` (N, 68, 2) in [0, 1] of the crop, when given, replace the network's own landmarks
        in its image branch (NaN: keep the network's own for that coordinate). A model that cannot
        draw from landmarks raises ``SteeringError`` instead of ignoring them.
        """
        return [p for _, p in self.iter_predictions(images, holes, landmarks)]

    def iter_predictions(self, images: np.ndarray, holes: np.ndarray,
                         landmarks: np.ndarray | None = None) -> Iterator[tuple[int, Prediction]]:
        """Yield ``(index, prediction)`` batch by batch, so callers can show progress and cancel."""
        holes = holes.astype(bool, copy=False)
        check_batch(images, holes, self.spec.resolution)
        if landmarks is not None:
            if not self.accepts_landmarks:
                raise SteeringError(f"{self.spec.display_name} does not draw from facial landmarks, so moved "
                                    "landmarks cannot change its prediction. Use a landmark-guided model.")
            landmarks = check_guide(landmarks, len(images))
        for start in range(0, len(images), self.batch_size):
            chunk = slice(start, start + self.batch_size)
            if landmarks is None:
                filled, predicted = self._fill(images[chunk], holes[chunk])
                guides = None
            else:
                filled, predicted = self._fill_guided(images[chunk], holes[chunk], landmarks[chunk])
                guides = landmarks[chunk] if predicted is None else \
                    np.where(np.isnan(landmarks[chunk]), predicted, landmarks[chunk])
            for offset, image in enumerate(filled):
                composited = np.where(holes[chunk][offset][..., None], image, images[chunk][offset])
                yield start + offset, Prediction(composited, None if predicted is None else predicted[offset],
                                                 None if guides is None else guides[offset])

    @abstractmethod
    def _fill(self, images: np.ndarray, holes: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """uint8 (n, R, R, 3) filled images and optional (n, 68, 2) normalised landmarks."""

    def _fill_guided(self, images: np.ndarray, holes: np.ndarray,
                     landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Like ``_fill``, with the image branch told to follow ``landmarks``; only if ``accepts_landmarks``."""
        raise SteeringError(f"{self.spec.display_name} does not draw from facial landmarks.")


class TorchInpaintModel(InpaintModel):
    """A network called as ``net(image, hole) -> (image, landmarks)`` on NCHW tensors in [0, 1].

    A network whose ``forward`` takes a ``landmarks`` argument (N, 68, 2) in [0, 1] can be steered:
    ``net(image, hole, landmarks=...)``.
    """

    def __init__(self, spec: "ModelSpec", device: torch.device, network: torch.nn.Module) -> None:
        super().__init__(spec, device)
        self.network = network.to(device).eval()
        self._steerable = "landmarks" in inspect.signature(self.network.forward).parameters

    @property
    def accepts_landmarks(self) -> bool:
        return self._steerable

    def _fill(self, images: np.ndarray, holes: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return self._run(images, holes, None)

    def _fill_guided(self, images: np.ndarray, holes: np.ndarray,
                     landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return self._run(images, holes, landmarks)

    @torch.inference_mode()
    def _run(self, images: np.ndarray, holes: np.ndarray,
             guide: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        image_t = torch.from_numpy(images).to(self.device).permute(0, 3, 1, 2).float().div_(255)
        hole_t = torch.from_numpy(holes).to(self.device).unsqueeze(1).float()
        with autocast_for(self.device):
            if guide is None:
                out, landmarks = self.network(image_t, hole_t)
            else:
                guide_t = torch.from_numpy(np.ascontiguousarray(guide, np.float32)).to(self.device)
                out, landmarks = self.network(image_t, hole_t, landmarks=guide_t)
        out_u8 = out.float().clamp_(0, 1).mul_(255).round_().byte().permute(0, 2, 3, 1).cpu().numpy()
        return out_u8, None if landmarks is None else landmarks.float().cpu().numpy()
