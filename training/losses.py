"""The generator and discriminator losses of Algorithm 1 (Chen et al. 2022), plus the VGG-free substitute.

Terms: L1 reconstruction, hinge adversarial loss with the spectral-norm discriminator, landmark L2,
total variation, and VGG-16 perceptual + style losses when the user supplies VGG weights. Without
VGG, discriminator feature matching (L1 between the discriminator's intermediate activations for
the composited output and the real image) stands in for the perceptual term: it needs no
pretrained network and also pushes texture towards the real-image statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from inference.face.regions import MOUTH_OUTER, NOSE_LOWER, PHILTRUM
from inference.face.suggest import face_width, polygons_mask
from training.vgg import PERCEPTUAL_LAYERS, STYLE_LAYERS, VGG16Features


@dataclass(frozen=True)
class LossWeights:
    l1: float = 1.0
    adversarial: float = 0.01
    landmark: float = 0.00046           # for landmarks in pixels of a reference_size crop
    landmark_reference_size: int = 256  # the normalised-coordinate loss is rescaled by this squared
    tv: float = 0.1
    perceptual: float = 0.1
    style: float = 0.1
    feature_matching: float = 1.0       # used only when no VGG weights are given
    l1_mode: str = "lafin"              # "lafin": whole image / hole fraction; "hole": hole mean + l1_valid x known mean
    l1_valid: float = 0.2               # weight of the known pixels in "hole" mode
    landmark_mode: str = "l2"           # "l2": the paper's mean squared error; "l1": mean point distance (robust)
    adversarial_mode: str = "image"     # "image": every discriminator patch; "hole": only patches over the hole
    mouth_l1: float = 0.0               # extra L1 over the true lips (outer contour grown 4 % of the face) in the hole
    edge: float = 0.0                   # L1 between the luminance gradients of output and truth in the hole
    encoder_perceptual: float = 0.0     # L1 between frozen-encoder features of the composite and the truth
    nose_detail: float = 0.0            # per face: |detail energy of output - truth| over nostrils and philtrum in the hole


def l1_reconstruction(output: torch.Tensor, target: torch.Tensor, hole: torch.Tensor,
                      mode: str = "lafin", valid_weight: float = 0.2) -> torch.Tensor:
    """L1 reconstruction.

    "lafin" (the paper's): whole-image L1 divided by the hole fraction. It still spends most of its
    gradient on known pixels, which are composited away at inference; "hole" takes the mean error
    inside the hole plus ``valid_weight`` times the mean error on known pixels, so capacity goes
    where the prediction is actually used (thin strokes and hole borders).
    """
    if mode == "lafin":
        return F.l1_loss(output, target) / hole.mean().clamp_min(1e-3)
    if mode != "hole":
        raise ValueError(f"unknown l1_mode {mode!r} (use 'lafin' or 'hole')")
    error = (output - target).abs().mean(dim=1, keepdim=True)
    known = 1 - hole
    in_hole = (error * hole).sum() / hole.sum().clamp_min(1.0)
    on_known = (error * known).sum() / known.sum().clamp_min(1.0)
    return in_hole + valid_weight * on_known


REGION_GROW_FRACTION = 0.04  # of the face width, as the structure measures' "not skin" margin


def landmark_region(landmarks_norm: torch.Tensor, size: tuple[int, int], polygons: tuple[tuple[int, ...], ...]
                    ) -> torch.Tensor:
    """(N, 1, H, W) float mask of the truth's landmark ``polygons``, grown by 4 % of the face width.

    From the truth landmarks (normalised to the crop), so a loss knows where the anatomy is even
    when the hole hides it.
    """
    h, w = size
    points = landmarks_norm.detach().float().cpu().numpy() * np.array([w, h], np.float32)
    masks = [polygons_mask([p[list(poly)] for poly in polygons], max(1, round(REGION_GROW_FRACTION * face_width(p))),
                           (h, w)) for p in points]
    return torch.from_numpy(np.stack(masks)[:, None].astype(np.float32)).to(landmarks_norm.device)


def mouth_region(landmarks_norm: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The true outer lip polygon (48-59), grown: where the vermilion and the mouth line are."""
    return landmark_region(landmarks_norm, size, (MOUTH_OUTER,))


def nose_region(landmarks_norm: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The nose tip and nostril sill (30-35) and the philtrum down to the upper lip, grown: where the
    nostrils, the columella and the philtral columns are."""
    return landmark_region(landmarks_norm, size, (NOSE_LOWER, PHILTRUM))


def detail_energy_gap(output: torch.Tensor, target: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """Mean over faces of |mean luminance-gradient magnitude of output - that of target| over ``region``.

    Unlike a pixel or gradient L1, it does not ask *where* each edge is, only that the region holds
    as much detail as the truth's: a blur is penalised, a nostril a pixel off is not. Faces whose
    region is empty count zero.
    """
    (ox, oy), (tx, ty) = _luminance_gradients(output), _luminance_gradients(target)
    area = region.sum((1, 2, 3)).clamp_min(1.0)
    energy_out = ((ox.abs() + oy.abs()) * region).sum((1, 2, 3)) / area
    energy_truth = ((tx.abs() + ty.abs()) * region).sum((1, 2, 3)) / area
    return (energy_out - energy_truth).abs().mean()


def region_l1(output: torch.Tensor, target: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over the pixels of ``region`` (0 when the region is empty)."""
    error = (output - target).abs().mean(dim=1, keepdim=True)
    return (error * region).sum() / region.sum().clamp_min(1.0)


def _luminance_gradients(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    y = 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]
    return F.pad(y[..., :, 1:] - y[..., :, :-1], (0, 1)), F.pad(y[..., 1:, :] - y[..., :-1, :], (0, 0, 0, 1))


def gradient_l1(output: torch.Tensor, target: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """L1 between the horizontal and vertical luminance differences of output and target over ``region``.

    Plain L1 is smallest for the average of all plausible lips, a blur; matching the differences
    as well asks for the mouth line and the vermilion border the truth has.
    """
    (ox, oy), (tx, ty) = _luminance_gradients(output), _luminance_gradients(target)
    error = (ox - tx).abs() + (oy - ty).abs()
    return (error * region).sum() / region.sum().clamp_min(1.0)


def encoder_perceptual(encoder: torch.nn.Module, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """L1 between the features of a frozen copy of our own generator's encoder for ``fake`` and ``real``.

    A perceptual loss from a face network trained here (no VGG weights exist on this machine): the
    encoder was trained to find 68 landmarks, the mouth among them, so its features change when a
    lip's border or mouth line is blurred. Both images go in whole (an empty hole); each of the three
    feature maps (256, 128 and 64 px) counts equally.
    """
    empty = torch.zeros_like(fake[:, :1])
    n = fake.shape[0]
    feats = encoder.encode(torch.cat([fake, real]), torch.cat([empty, empty]))
    pairs = [(f[:n], f[n:].detach()) for f in (feats.e1, feats.e2, feats.shared)]
    return sum(F.l1_loss(a, b) for a, b in pairs) / len(pairs)


def landmark_l2(pred_norm: torch.Tensor, target_norm: torch.Tensor, reference_size: int) -> torch.Tensor:
    """Mean squared landmark error in pixels of a ``reference_size`` crop (the paper's weight applies)."""
    return F.mse_loss(pred_norm, target_norm) * float(reference_size) ** 2


def landmark_loss(pred_norm: torch.Tensor, target_norm: torch.Tensor, reference_size: int, mode: str = "l2"
                  ) -> torch.Tensor:
    """The paper's L2 (``landmark_l2``), or "l1": the mean Euclidean point error in pixels of a
    ``reference_size`` crop, whose gradient does not vanish as the points get close."""
    if mode == "l2":
        return landmark_l2(pred_norm, target_norm, reference_size)
    if mode != "l1":
        raise ValueError(f"unknown landmark_mode {mode!r} (use 'l2' or 'l1')")
    return ((pred_norm - target_norm) * reference_size).square().sum(-1).add(1e-6).sqrt().mean()


def total_variation(x: torch.Tensor) -> torch.Tensor:
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()


def d_hinge(real_logits: torch.Tensor, fake_logits: torch.Tensor,
            fake_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Hinge loss of the discriminator; ``fake_weight`` (see :func:`hole_patch_weight`) limits the fake
    term to the patches that overlap the hole, as in LaMa: a composited image is real outside it."""
    return F.relu(1 - real_logits).mean() + _weighted_mean(F.relu(1 + fake_logits), fake_weight)


def g_hinge(fake_logits: torch.Tensor, fake_weight: torch.Tensor | None = None) -> torch.Tensor:
    return -_weighted_mean(fake_logits, fake_weight)


def hole_patch_weight(hole: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """The share of each discriminator patch that lies in the hole, at the logits' resolution.

    With a whole-image average a mouth-sized hole is a few percent of the patches, so the adversarial
    gradient that would sharpen a lip is diluted by patches of untouched (real) pixels.
    """
    return F.adaptive_avg_pool2d(hole.float(), logits.shape[-2:])


def _weighted_mean(values: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    if weight is None:
        return values.mean()
    weight = weight.expand_as(values)
    return (values * weight).sum() / weight.sum().clamp_min(1e-6)


def feature_matching(fake_feats: list[torch.Tensor], real_feats: list[torch.Tensor]) -> torch.Tensor:
    """L1 between discriminator activations (last logits layer excluded), real side detached."""
    pairs = list(zip(fake_feats[:-1], real_feats[:-1]))
    return sum(F.l1_loss(f, r.detach()) for f, r in pairs) / len(pairs)


def _gram(x: torch.Tensor) -> torch.Tensor:
    n, c, h, w = x.shape
    f = x.flatten(2)
    return torch.bmm(f, f.transpose(1, 2)) / (c * h * w)


def perceptual_and_style(vgg: VGG16Features, fake: torch.Tensor, real: torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    wanted = tuple(sorted(set(PERCEPTUAL_LAYERS) | set(STYLE_LAYERS)))
    ff = vgg(fake.float(), wanted)
    with torch.no_grad():
        rf = vgg(real.float(), wanted)
    perceptual = sum(F.l1_loss(ff[k], rf[k]) for k in PERCEPTUAL_LAYERS) / len(PERCEPTUAL_LAYERS)
    style = sum(F.l1_loss(_gram(ff[k]), _gram(rf[k])) for k in STYLE_LAYERS) / len(STYLE_LAYERS)
    return perceptual, style
