"""EdgeConnect's training step (Nazeri et al. 2019).

Stage 1 (edge generator G1, discriminator D1 on [edge map, grayscale]): adversarial loss (weight 1)
plus feature matching on D1's activations (weight 10). Stage 2 (inpainting generator G2,
discriminator D2 on [image, edge map]): L1 normalised by the hole fraction (1), adversarial
(0.1), perceptual (0.1) and style (250) with VGG, else our stand-in, discriminator feature
matching (1.0). Adam with betas (0, 0.9), lr 1e-4, discriminators at a tenth of it, as in the paper.

Phases, as the paper trains: ``"separate"`` (default) trains G1 and G2 in the same step but
independently, G2 drawing from the whole image's Canny edges (the ground truth); ``"joint"`` is the
end-to-end fine-tuning: G2 draws from G1's composite edges, its losses reach G1, and D1 is no longer
used. Edges are Canny maps of the whole grayscale (sigma 2), the paper's training target; only
their visible part enters G1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from inference.models.edgeconnect import EdgeConnect, SNPatchDiscriminator, canny_edges, to_gray
from training import losses as L
from training.comparison.common import (ComparisonStep, d_adversarial, feature_matching_sum, g_adversarial, split,
                                        vgg_terms)
from training.errors import ConfigError
from training.vgg import VGG16Features


@dataclass(frozen=True)
class EdgeConnectWeights:
    edge_adversarial: float = 1.0
    edge_feature_matching: float = 10.0
    l1: float = 1.0
    adversarial: float = 0.1
    perceptual: float = 0.1
    style: float = 250.0
    feature_matching: float = 1.0   # the stand-in for perceptual + style when no VGG weights are given


class EdgeConnectStep(ComparisonStep):
    name = "edgeconnect"
    PHASES = ("separate", "joint")

    def __init__(self, network: EdgeConnect, vgg: VGG16Features | None = None,
                 weights: EdgeConnectWeights = EdgeConnectWeights(), lr: float = 1e-4, d_lr_ratio: float = 0.1,
                 betas: tuple[float, float] = (0.0, 0.9), phase: str = "separate", gan: str = "nsgan",
                 device: torch.device | None = None) -> None:
        if phase not in self.PHASES:
            raise ConfigError(f"Unknown EdgeConnect phase {phase!r}: use one of {', '.join(self.PHASES)}.")
        width = network.width
        super().__init__(network, {"edge": SNPatchDiscriminator(2, width), "image": SNPatchDiscriminator(4, width)},
                         vgg, gan, device)
        self.weights, self.phase = weights, phase
        self._add_optimiser("edge", network.edge.parameters(), lr, betas)
        self._add_optimiser("inpaint", network.inpaint.parameters(), lr, betas)
        self._add_optimiser("d_edge", self.discriminators["edge"].parameters(), lr * d_lr_ratio, betas)
        self._add_optimiser("d_image", self.discriminators["image"].parameters(), lr * d_lr_ratio, betas)

    def train_step(self, batch: Sequence[torch.Tensor]) -> dict[str, float]:
        w, net = self.weights, self.network
        image, hole = self._batch(batch)[:2]
        n = image.shape[0]
        d_edge, d_image = self.discriminators["edge"], self.discriminators["image"]
        separate = self.phase == "separate"
        edges_true = canny_edges(to_gray(image))   # the whole image's edges: the target and D1's real sample
        out = net.generate(image, hole, edges=edges_true, edges_for_inpaint=edges_true if separate else None)
        gray, cond = out.gray, out.edges
        terms: dict[str, torch.Tensor] = {}

        # discriminators: real and fake halves in one forward each
        if separate:
            logits = d_edge(torch.cat([torch.cat([edges_true, gray], 1), torch.cat([out.edges_pred.detach(), gray], 1)]))
            terms["d_edge"] = d_adversarial(logits[:n], logits[n:], self.gan) / 2
            self._update(["d_edge"], terms["d_edge"])
        cond_d = cond.detach()
        logits = d_image(torch.cat([torch.cat([image, cond_d], 1), torch.cat([out.rgb.detach(), cond_d], 1)]))
        terms["d_image"] = d_adversarial(logits[:n], logits[n:], self.gan) / 2
        self._update(["d_image"], terms["d_image"])

        # generators, discriminators frozen
        self._frozen(d_edge, True)
        self._frozen(d_image, True)
        total = image.new_zeros(())
        if separate:
            fake, real = split(d_edge.features(torch.cat([torch.cat([out.edges_pred, gray], 1),
                                                          torch.cat([edges_true, gray], 1)])), n)
            terms["edge_adversarial"] = g_adversarial(fake[-1], self.gan)
            terms["edge_feature_matching"] = feature_matching_sum(fake, real)
            terms["g_edge"] = w.edge_adversarial * terms["edge_adversarial"] \
                + w.edge_feature_matching * terms["edge_feature_matching"]
            total = total + terms["g_edge"]
        fake, real = split(d_image.features(torch.cat([torch.cat([out.rgb, cond], 1), torch.cat([image, cond_d], 1)])), n)
        terms["l1"] = L.l1_reconstruction(out.rgb.float(), image, hole, "lafin")
        terms["adversarial"] = g_adversarial(fake[-1], self.gan)
        g_image = w.l1 * terms["l1"] + w.adversarial * terms["adversarial"]
        if self.vgg is not None:
            terms["perceptual"], terms["style"] = vgg_terms(self.vgg, out.rgb, image)
            g_image = g_image + w.perceptual * terms["perceptual"] + w.style * terms["style"]
        else:
            terms["feature_matching"] = L.feature_matching(fake, real)
            g_image = g_image + w.feature_matching * terms["feature_matching"]
        terms["g_image"] = g_image
        total = total + g_image
        self._update(["edge", "inpaint"], total)
        self._frozen(d_edge, False)
        self._frozen(d_image, False)
        terms["g_total"] = total
        terms["reconstruction"] = terms["l1"]
        terms["d_loss"] = terms["d_image"] + terms.get("d_edge", 0.0)
        return self._finish(terms)
