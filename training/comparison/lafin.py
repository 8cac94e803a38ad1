"""LaFIn's training step (Yang et al. 2020), both stages in one step but trained apart.

Landmark predictor: L2 between predicted and true landmarks (``training.losses.landmark_l2``, in
pixels of a 256 crop), its own Adam optimiser. Generator: drawn from the true landmarks (the
paper trains the inpainter on landmarks of the ground truth; ``guide="predicted"`` uses the
predictor's, detached) with L1 normalised by the hole fraction (1), adversarial (0.01),
perceptual (0.1), style (250), total variation of the composite (0.1); without VGG weights our
stand-in, discriminator feature matching (1.0), replaces perceptual + style. The discriminator is
EdgeConnect's spectral-norm PatchGAN on the generated image. Adam betas (0, 0.9), lr 1e-4,
discriminator at a tenth (EdgeConnect's settings, on which LaFIn builds). No gradient passes from
the generator to the predictor: the two-stage design is kept as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from inference.models.edgeconnect import SNPatchDiscriminator
from inference.models.lafin import LaFIn
from training import losses as L
from training.comparison.common import ComparisonStep, d_adversarial, g_adversarial, split, vgg_terms
from training.errors import ConfigError
from training.vgg import VGG16Features


@dataclass(frozen=True)
class LaFInWeights:
    landmark: float = 1.0            # the predictor's only loss (own optimiser)
    landmark_reference_size: int = 256
    l1: float = 1.0
    adversarial: float = 0.01
    perceptual: float = 0.1
    style: float = 250.0
    tv: float = 0.1
    feature_matching: float = 1.0    # the stand-in for perceptual + style when no VGG weights are given


class LaFInStep(ComparisonStep):
    name = "lafin"
    GUIDES = ("truth", "predicted")

    def __init__(self, network: LaFIn, vgg: VGG16Features | None = None, weights: LaFInWeights = LaFInWeights(),
                 lr: float = 1e-4, d_lr_ratio: float = 0.1, betas: tuple[float, float] = (0.0, 0.9),
                 guide: str = "truth", gan: str = "nsgan", device: torch.device | None = None) -> None:
        if guide not in self.GUIDES:
            raise ConfigError(f"Unknown LaFIn guide {guide!r}: use one of {', '.join(self.GUIDES)}.")
        super().__init__(network, {"image": SNPatchDiscriminator(3, network.width)}, vgg, gan, device)
        self.weights, self.guide = weights, guide
        self._add_optimiser("predictor", network.predictor.parameters(), lr, betas)
        self._add_optimiser("generator", network.generator.parameters(), lr, betas)
        self._add_optimiser("d_image", self.discriminators["image"].parameters(), lr * d_lr_ratio, betas)

    def train_step(self, batch: Sequence[torch.Tensor]) -> dict[str, float]:
        if len(batch) < 3:
            raise ConfigError("LaFIn trains its landmark predictor: the batch needs (image, hole, landmarks).")
        w, net = self.weights, self.network
        image, hole, landmarks = self._batch(batch)[:3]
        n = image.shape[0]
        disc = self.discriminators["image"]
        terms: dict[str, torch.Tensor] = {}

        # stage 1: landmark predictor
        predicted = net.predict_landmarks(image, hole)
        terms["landmark"] = L.landmark_l2(predicted.float(), landmarks, w.landmark_reference_size)
        self._update(["predictor"], w.landmark * terms["landmark"])

        # stage 2: generator guided by the true (or the predicted, detached) landmarks
        guide = landmarks if self.guide == "truth" else predicted.detach()
        rgb = net.generator(image, hole, guide)
        comp = rgb * hole + image * (1 - hole)
        logits = disc(torch.cat([image, rgb.detach()]))
        terms["d_image"] = d_adversarial(logits[:n], logits[n:], self.gan) / 2
        self._update(["d_image"], terms["d_image"])

        self._frozen(disc, True)
        fake, real = split(disc.features(torch.cat([rgb, image])), n)
        terms["l1"] = L.l1_reconstruction(rgb.float(), image, hole, "lafin")
        terms["adversarial"] = g_adversarial(fake[-1], self.gan)
        terms["tv"] = L.total_variation(comp.float())
        total = w.l1 * terms["l1"] + w.adversarial * terms["adversarial"] + w.tv * terms["tv"]
        if self.vgg is not None:
            terms["perceptual"], terms["style"] = vgg_terms(self.vgg, rgb, image)
            total = total + w.perceptual * terms["perceptual"] + w.style * terms["style"]
        else:
            terms["feature_matching"] = L.feature_matching(fake, real)
            total = total + w.feature_matching * terms["feature_matching"]
        self._update(["generator"], total)
        self._frozen(disc, False)
        terms["g_total"] = total
        terms["reconstruction"] = terms["l1"]
        terms["d_loss"] = terms["d_image"]
        return self._finish(terms)
