"""What the comparison networks' training steps share: adversarial losses, the VGG terms or their
stand-in, optimisers, state for checkpoints.

Adversarial losses: ``"nsgan"`` is the papers' log loss (EdgeConnect, CTSDG; LaFIn builds on
EdgeConnect's), computed on logits with binary cross-entropy; ``"hinge"`` reuses
``training.losses.d_hinge`` / ``g_hinge`` (our network's).

Perceptual and style terms: with a VGG-16 (``training.vgg``) the papers' sums over layers
(``training.losses.perceptual_and_style`` averages over layers, so its terms are multiplied back by
the layer counts). Our VGG-16 layers are used for every network (relu1_1..relu5_1 for the
perceptual term, relu2_2..relu5_3 for the style term), not each paper's VGG-19 / pool layers.
Without VGG weights, the stand-in is the one our own network trains with: discriminator feature
matching (``training.losses.feature_matching``) with weight ``feature_matching`` (1.0).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from training import losses as L
from training.errors import ConfigError
from training.vgg import PERCEPTUAL_LAYERS, STYLE_LAYERS, VGG16Features

GAN_MODES = ("nsgan", "hinge")


def d_adversarial(real_logits: torch.Tensor, fake_logits: torch.Tensor, mode: str = "nsgan") -> torch.Tensor:
    """Discriminator loss: real -> 1, fake -> 0 (summed, not averaged, over the two halves)."""
    if mode == "hinge":
        return L.d_hinge(real_logits.float(), fake_logits.float())
    real, fake = real_logits.float(), fake_logits.float()
    return F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) \
        + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))


def g_adversarial(fake_logits: torch.Tensor, mode: str = "nsgan") -> torch.Tensor:
    """Generator loss: the non-saturating -log D(fake), or the hinge generator term."""
    if mode == "hinge":
        return L.g_hinge(fake_logits.float())
    fake = fake_logits.float()
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


def feature_matching_sum(fake_feats: Sequence[torch.Tensor], real_feats: Sequence[torch.Tensor]) -> torch.Tensor:
    """EdgeConnect's feature matching: the sum over layers (logits excluded) of the mean L1 per layer."""
    return L.feature_matching(list(fake_feats), list(real_feats)) * (len(fake_feats) - 1)


def vgg_terms(vgg: VGG16Features, fake: torch.Tensor, real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(perceptual, style) summed over their layers, as the papers write them."""
    perceptual, style = L.perceptual_and_style(vgg, fake, real)
    return perceptual * len(PERCEPTUAL_LAYERS), style * len(STYLE_LAYERS)


def split(features: Sequence[torch.Tensor], n: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Features of a batch [fake; real] -> (fake features, real features detached)."""
    return [f[:n].float() for f in features], [f[n:].float().detach() for f in features]


def adam(params: Iterable[nn.Parameter], lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    return torch.optim.Adam(params, lr=lr, betas=betas)


class ComparisonStep:
    """One training step of a comparison network: its generator(s), discriminator(s) and optimisers.

    ``step(batch)`` / ``train_step(batch)`` with ``batch = (image, hole[, landmarks])`` as the data
    pipeline gives them (image (N, 3, H, W) in [0, 1], hole (N, 1, H, W) 1 = hole, landmarks (N, 68, 2)
    in [0, 1]); returns the loss terms as floats, with ``g_total``, ``d_loss`` and ``reconstruction``
    (the pixel term each paper trains with) among them. ``state_dict`` / ``load_state_dict`` hold
    every network and optimiser (plain tensors); ``scale_lr(factor)`` sets every learning rate to its
    base value times ``factor`` (for the loop's step decay).
    """

    name = ""

    def __init__(self, network: nn.Module, discriminators: dict[str, nn.Module], vgg: VGG16Features | None,
                 gan: str, device: torch.device | None) -> None:
        if gan not in GAN_MODES:
            raise ConfigError(f"Unknown adversarial loss {gan!r}: use one of {', '.join(GAN_MODES)}.")
        self.device = device or next(network.parameters()).device
        self.network = network.to(self.device).train()
        self.discriminators = {k: d.to(self.device).train() for k, d in discriminators.items()}
        self.vgg = None if vgg is None else vgg.to(self.device).eval().requires_grad_(False)
        self.gan = gan
        self.optimisers: dict[str, torch.optim.Optimizer] = {}
        self.steps = 0

    def _add_optimiser(self, key: str, params: Iterable[nn.Parameter], lr: float, betas: tuple[float, float]) -> None:
        opt = adam(params, lr, betas)
        for group in opt.param_groups:
            group["base_lr"] = lr
        self.optimisers[key] = opt

    def scale_lr(self, factor: float) -> None:
        for opt in self.optimisers.values():
            for group in opt.param_groups:
                group["lr"] = group["base_lr"] * factor

    def _batch(self, batch: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        return [t.to(self.device) for t in batch]

    def _update(self, keys: Sequence[str], loss: torch.Tensor) -> None:
        for k in keys:
            self.optimisers[k].zero_grad(set_to_none=True)
        loss.backward()
        for k in keys:
            self.optimisers[k].step()

    @staticmethod
    def _frozen(module: nn.Module, frozen: bool) -> None:
        module.requires_grad_(not frozen)

    def _finish(self, terms: dict[str, torch.Tensor | float]) -> dict[str, float]:
        self.steps += 1
        result = {k: float(v.detach()) if isinstance(v, torch.Tensor) else float(v) for k, v in terms.items()}
        if not math.isfinite(result["g_total"]):
            raise ConfigError(f"The {self.name} generator loss became {result['g_total']} at step {self.steps}; "
                              "lower the learning rate.")
        return result

    def train_step(self, batch: Sequence[torch.Tensor]) -> dict[str, float]:
        raise NotImplementedError

    def __call__(self, batch: Sequence[torch.Tensor]) -> dict[str, float]:
        return self.train_step(batch)

    def state_dict(self) -> dict:
        return {"network": self.network.state_dict(),
                "discriminators": {k: d.state_dict() for k, d in self.discriminators.items()},
                "optimisers": {k: o.state_dict() for k, o in self.optimisers.items()},
                "steps": self.steps}

    def load_state_dict(self, state: dict) -> None:
        self.network.load_state_dict(state["network"])
        for k, d in self.discriminators.items():
            d.load_state_dict(state["discriminators"][k])
        for k, o in self.optimisers.items():
            o.load_state_dict(state["optimisers"][k])
        self.steps = int(state.get("steps", 0))
