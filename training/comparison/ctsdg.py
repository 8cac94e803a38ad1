"""CTSDG's training step (Guo et al. 2021).

Generator losses and weights (the paper's): L1 on the hole (60) and on the known pixels (10), each
the mean over all pixels of the masked error (partial convolutions' convention); perceptual (0.1)
and style (250) on both the raw output and the composite; adversarial (0.1); the intermediate
supervision (1): binary cross-entropy between the structure stream's projected edge map and the
Canny edges, plus L1 between the texture stream's projected image and the truth. Without VGG
weights, our stand-in, feature matching on the texture branch of the discriminator (1.0, raw
output and composite), replaces perceptual + style.

Adversarial term: the discriminator judges texture (the image) and structure (an edge map with the
grayscale: the real image's Canny edges, or the edges its learned edge detector finds in the
output). The detector itself is trained with binary cross-entropy against the Canny edges, on
real and generated images, and the generator is also asked that the detector find the true edges
in its output. Adam betas (0, 0.9), lr 2e-4, discriminator at a tenth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from inference.models.ctsdg import CTSDG, CTSDGDiscriminator
from inference.models.edgeconnect import canny_edges, to_gray
from training import losses as L
from training.comparison.common import ComparisonStep, d_adversarial, g_adversarial, vgg_terms
from training.vgg import VGG16Features


@dataclass(frozen=True)
class CTSDGWeights:
    hole: float = 60.0
    valid: float = 10.0
    perceptual: float = 0.1
    style: float = 250.0
    adversarial: float = 0.1
    intermediate: float = 1.0
    feature_matching: float = 1.0    # the stand-in for perceptual + style when no VGG weights are given


def _bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits.float(), target.float())


class CTSDGStep(ComparisonStep):
    name = "ctsdg"

    def __init__(self, network: CTSDG, vgg: VGG16Features | None = None, weights: CTSDGWeights = CTSDGWeights(),
                 lr: float = 2e-4, d_lr_ratio: float = 0.1, betas: tuple[float, float] = (0.0, 0.9),
                 gan: str = "nsgan", device: torch.device | None = None) -> None:
        super().__init__(network, {"ctsdg": CTSDGDiscriminator(network.width)}, vgg, gan, device)
        self.weights = weights
        self._add_optimiser("generator", network.parameters(), lr, betas)
        self._add_optimiser("d", self.discriminators["ctsdg"].parameters(), lr * d_lr_ratio, betas)

    def train_step(self, batch: Sequence[torch.Tensor]) -> dict[str, float]:
        w, net = self.weights, self.network
        image, hole = self._batch(batch)[:2]
        disc = self.discriminators["ctsdg"]
        gray = to_gray(image)
        edges = canny_edges(gray)       # the whole image's edges: the target and the real structure sample
        out = net.generate(image, hole, edges=edges)
        comp = out.rgb * hole + image * (1 - hole)
        terms: dict[str, torch.Tensor] = {}

        # discriminator
        real_tex, real_str, real_edge = disc(image, gray, edges)
        fake_tex, fake_str, fake_edge = disc(out.rgb.detach(), gray)
        terms["d_loss"] = d_adversarial(real_tex[-1], fake_tex[-1], self.gan) \
            + d_adversarial(real_str, fake_str, self.gan) + _bce(real_edge, edges) + _bce(fake_edge, edges)
        self._update(["d"], terms["d_loss"])

        # generator, discriminator frozen
        self._frozen(disc, True)
        fake_tex, fake_str, fake_edge = disc(out.rgb, gray)
        terms["adversarial"] = g_adversarial(fake_tex[-1], self.gan) + g_adversarial(fake_str, self.gan) \
            + _bce(fake_edge, edges)
        error = (out.rgb.float() - image).abs()
        terms["hole"] = (error * hole).mean()
        terms["valid"] = (error * (1 - hole)).mean()
        terms["intermediate"] = _bce(out.edge_logits, edges) + F.l1_loss(out.rgb_texture.float(), image)
        total = w.hole * terms["hole"] + w.valid * terms["valid"] + w.adversarial * terms["adversarial"] \
            + w.intermediate * terms["intermediate"]
        if self.vgg is not None:
            p_out, s_out = vgg_terms(self.vgg, out.rgb, image)
            p_comp, s_comp = vgg_terms(self.vgg, comp, image)
            terms["perceptual"], terms["style"] = p_out + p_comp, s_out + s_comp
            total = total + w.perceptual * terms["perceptual"] + w.style * terms["style"]
        else:
            with torch.no_grad():
                real = [f.float() for f in disc.texture.features(image)]
            comp_feats = [f.float() for f in disc.texture.features(comp)]
            terms["feature_matching"] = L.feature_matching([f.float() for f in fake_tex], real) \
                + L.feature_matching(comp_feats, real)
            total = total + w.feature_matching * terms["feature_matching"]
        self._update(["generator"], total)
        self._frozen(disc, False)
        terms["g_total"] = total
        terms["reconstruction"] = w.hole * terms["hole"] + w.valid * terms["valid"]
        return self._finish(terms)
