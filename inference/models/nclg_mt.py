"""The landmark-guided multi-task inpainting network ("NCLG-MT").

Chen et al., IEEE BHI 2022, and INCLG (Software Impacts 2023): one shared encoder, an image
branch and a 68-point landmark branch whose predicted landmarks are rendered into a landmark
map and fed back into the image branch. Written from the papers' description; the
``width`` multiplier scales every channel count so a lite variant can be trained on a CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import spectral_norm

from inference.models.coarse_fill import harmonic_fill
from inference.models.layer_stack import LayerStack
from inference.models.lip_prior import LipPrior

NUM_LANDMARKS = 68
LANDMARK_MAP_SIZE = 128
COARSE_FILLS = ("none", "harmonic", "lip_prior")
LANDMARK_HEADS = ("paper", "heatmap")


def _ch(base: int, width: float) -> int:
    """Channel count for a width multiplier, never below 8."""
    return max(8, int(round(base * width)))


class GatedConv2d(nn.Module):
    """A convolution whose output is multiplied by a learned sigmoid gate (free-form inpainting)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, padding: int = 0,
                 dilation: int = 1, transposed: bool = False) -> None:
        super().__init__()
        conv = nn.ConvTranspose2d if transposed else nn.Conv2d
        self.conv = conv(in_ch, 2 * out_ch, kernel, stride=stride, padding=padding, dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feature, gate = self.conv(x).chunk(2, dim=1)
        return feature * torch.sigmoid(gate)


def _gated_block(in_ch: int, out_ch: int, kernel: int, stride: int = 1, padding: int = 0,
                 transposed: bool = False) -> nn.Sequential:
    return nn.Sequential(
        GatedConv2d(in_ch, out_ch, kernel, stride, padding, transposed=transposed),
        nn.InstanceNorm2d(out_ch, track_running_stats=False),
        nn.ReLU(inplace=True),
    )


class ResidualBlock(nn.Module):
    """Dilated residual block of the middle of the generator."""

    def __init__(self, channels: int, dilation: int = 2) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(dilation),
            nn.Conv2d(channels, channels, 3, dilation=dilation),
            nn.InstanceNorm2d(channels, track_running_stats=False),
            nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels, track_running_stats=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ShortLongAttention(nn.Module):
    """Self-attention over the feature map plus a context flow that copies encoder features into the hole.

    Both contributions are weighted by learnable scalars that start at 0, so the network begins
    as a plain encoder-decoder and learns how much long-range copying helps.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        key_ch = max(1, channels // 8)
        self.query = nn.Conv2d(channels, key_ch, 1)
        self.key = nn.Conv2d(channels, key_ch, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))
        self.alpha = nn.Parameter(torch.zeros(1))
        self.fuse = nn.Sequential(
            nn.Conv2d(2 * channels, channels, 1),
            nn.InstanceNorm2d(channels, track_running_stats=False),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor, encoder_feature: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)            # N, HW, K
        k = self.key(x).flatten(2)                               # N, K, HW
        attention = torch.softmax(torch.bmm(q, k), dim=-1)       # N, HW(query), HW(key)
        attention_t = attention.transpose(1, 2)
        attended = torch.bmm(self.value(x).flatten(2), attention_t).view(n, c, h, w)
        short_term = x + self.gamma * attended
        copied = torch.bmm(encoder_feature.flatten(2), attention_t).view(n, c, h, w)
        context = self.alpha * hole * copied + (1 - hole) * encoder_feature
        return self.fuse(torch.cat([short_term, context], dim=1))


class LandmarkBranch(nn.Module):
    """MobileNet-style landmark head on the shared feature, with a zero-gated view of fusion F1."""

    def __init__(self, in_ch: int, f1_ch: int, width: float) -> None:
        super().__init__()
        wide, small, mid = _ch(1280, width), _ch(64, width), _ch(128, width)
        self.expand = nn.Sequential(nn.Conv2d(in_ch, wide, 1), nn.BatchNorm2d(wide), nn.ReLU6(inplace=True))
        self.from_shared = nn.Conv2d(in_ch, small, 1)
        self.from_wide_small = nn.Conv2d(wide, small, 1)
        self.from_wide_mid = nn.Sequential(nn.Conv2d(wide, mid, 1), nn.PReLU(mid))
        self.gamma = nn.Parameter(torch.zeros(1))
        self.fc = nn.Linear(2 * small + mid + f1_ch, NUM_LANDMARKS * 2)

    def forward(self, shared: torch.Tensor, f1: torch.Tensor) -> torch.Tensor:
        wide = self.expand(shared)
        pooled = torch.cat([
            self.from_shared(shared).mean(dim=(2, 3)),
            self.from_wide_small(wide).mean(dim=(2, 3)),
            self.from_wide_mid(wide).mean(dim=(2, 3)),
            self.gamma * f1.mean(dim=(2, 3)),
        ], dim=1)
        return torch.sigmoid(self.fc(pooled)).view(-1, NUM_LANDMARKS, 2)


class HeatmapLandmarkBranch(nn.Module):
    """Landmarks located on the shared 64x64 feature map: one heat map per point, read out by soft-argmax.

    The paper's head pools the feature map to a vector and regresses 136 numbers, which throws
    away where things are; a heat map keeps the visible points where the features see them. The
    hole is an input, so the head knows which points it must infer rather than see, and a small
    shape model (an MLP over all soft-argmax points and the share of each heat map inside the
    hole, zero-initialised) moves the hidden points to where the visible ones say they belong.
    """

    PRIOR_SPREAD = 0.12  # crop widths: a broad Gaussian prior around the mean training shape

    def __init__(self, in_ch: int, width: float) -> None:
        super().__init__()
        mid = _ch(128, width)
        # the mean landmark shape of the training faces (set by the trainer, saved with the weights):
        # an untrained head answers the mean shape, not a point in the middle of the crop
        self.register_buffer("mean_shape", torch.full((NUM_LANDMARKS, 2), 0.5))
        self.body = nn.Sequential(
            nn.Conv2d(in_ch + 1, mid, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(mid, mid, 3, padding=2, dilation=2), nn.ReLU(inplace=True),
            nn.Conv2d(mid, mid, 3, padding=4, dilation=4), nn.ReLU(inplace=True),
            nn.Conv2d(mid, NUM_LANDMARKS, 1),
        )
        self.shape_model = nn.Sequential(nn.Linear(3 * NUM_LANDMARKS, 256), nn.ReLU(inplace=True),
                                         nn.Linear(256, 2 * NUM_LANDMARKS))
        nn.init.zeros_(self.shape_model[2].weight)
        nn.init.zeros_(self.shape_model[2].bias)

    def forward(self, shared: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        n, _, h, w = shared.shape
        logits = self.body(torch.cat([shared, hole.to(shared.dtype)], dim=1)).float().flatten(2)  # N, 68, HW
        ys = (torch.arange(h, device=shared.device, dtype=torch.float32) + 0.5) / h
        xs = (torch.arange(w, device=shared.device, dtype=torch.float32) + 0.5) / w
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
        d2 = (grid_x.reshape(1, -1) - self.mean_shape[:, :1]).square() + (grid_y.reshape(1, -1) - self.mean_shape[:, 1:]).square()
        prob = torch.softmax(logits - d2 / (2 * self.PRIOR_SPREAD ** 2), dim=-1)
        points = torch.stack([prob @ grid_x.reshape(-1), prob @ grid_y.reshape(-1)], dim=-1)   # N, 68, 2
        hidden = prob @ hole.float().reshape(n, -1, 1)                                          # N, 68, 1
        shift = self.shape_model(torch.cat([points.flatten(1), hidden.flatten(1)], dim=1).to(self.shape_model[0].weight.dtype))
        return (points + shift.float().view(n, NUM_LANDMARKS, 2)).clamp(0, 1)


def landmark_map(landmarks: torch.Tensor, size: int = LANDMARK_MAP_SIZE, sigma: float = 0.0) -> torch.Tensor:
    """Render (N, 68, 2) landmarks in [0, 1] as an (N, 68, size, size) map.

    ``sigma == 0`` (the paper): a 1 at each point, vectorised with one scatter on the landmarks' own
    device; pixel = floor(coord * size), clamped. ``sigma > 0``: a Gaussian of that many map pixels
    around each point, a denser signal that a small image branch can use (a documented variant).
    """
    if sigma > 0:
        c = (torch.arange(size, device=landmarks.device, dtype=torch.float32) + 0.5) / size
        points = landmarks.detach().float()
        dx = (c.view(1, 1, 1, size) - points[..., 0, None, None]) * size
        dy = (c.view(1, 1, size, 1) - points[..., 1, None, None]) * size
        return torch.exp(-(dx.square() + dy.square()) / (2 * sigma ** 2)).to(landmarks.dtype)
    n, k, _ = landmarks.shape
    pixels = (landmarks.detach() * size).long().clamp_(0, size - 1)
    flat_index = pixels[..., 1] * size + pixels[..., 0]                       # N, K
    out = torch.zeros(n, k, size * size, dtype=landmarks.dtype, device=landmarks.device)
    out.scatter_(2, flat_index.unsqueeze(-1), 1.0)
    return out.view(n, k, size, size)


def _resize_hole(hole: torch.Tensor, size: int) -> torch.Tensor:
    """Downsample a hole mask so any touched cell counts as hole (max pooling keeps thin strokes)."""
    factor = hole.shape[-1] // size
    return hole if factor == 1 else F.max_pool2d(hole, factor)


@dataclass
class Encoded:
    """What the shared encoder hands to both branches (kept so landmarks can be changed and re-rendered)."""

    hole: torch.Tensor
    base: torch.Tensor      # the coarse fill the encoder saw (or the zero-filled image)
    e1: torch.Tensor
    e2: torch.Tensor
    shared: torch.Tensor    # the shared 64x64 feature map
    hole64: torch.Tensor


class NCLGMTGenerator(nn.Module):
    """Shared encoder, landmark branch and landmark-guided image branch.

    Input: ``image`` (N, 3, 256, 256) in [0, 1] and ``hole`` (N, 1, 256, 256), 1 = hole.
    Output: the generated image (N, 3, 256, 256) in [0, 1] (not yet composited with the known
    pixels) and landmarks (N, 68, 2) in [0, 1] of the input frame.

    ``coarse_fill="none"`` is the paper's network: the hole enters as zeros and the last layer
    draws the whole image. ``coarse_fill="harmonic"`` enters the hole as a smooth membrane fill
    (``coarse_fill.harmonic_fill``) and the last layer draws a correction on top of it, in logit
    space and initialised to zero, so an untrained network returns the smooth fill and training
    spends its capacity on facial structure instead of on matching colours at the hole's border.
    """

    def __init__(self, width: float = 1.0, residual_blocks: int = 7, coarse_fill: str = "none",
                 landmark_head: str = "paper", landmark_sigma: float = 0.0, prior_gain: float = 1.0) -> None:
        super().__init__()
        if prior_gain != 1.0 and coarse_fill != "lip_prior":
            raise ValueError(f"prior_gain scales the lip prior; coarse_fill {coarse_fill!r} has none.")
        if coarse_fill not in COARSE_FILLS:
            raise ValueError(f"coarse_fill must be one of {COARSE_FILLS}, not {coarse_fill!r}.")
        if landmark_head not in LANDMARK_HEADS:
            raise ValueError(f"landmark_head must be one of {LANDMARK_HEADS}, not {landmark_head!r}.")
        self.width, self.coarse_fill, self.landmark_sigma = width, coarse_fill, landmark_sigma
        c1, c2, c3 = _ch(64, width), _ch(128, width), _ch(256, width)
        self.enc1 = nn.Sequential(nn.ReflectionPad2d(3), *_gated_block(4, c1, 7))
        self.enc2 = _gated_block(c1, c2, 4, stride=2, padding=1)
        self.enc3 = _gated_block(c2, c3, 4, stride=2, padding=1)
        self.middle = nn.Sequential(*[ResidualBlock(c3, dilation=2) for _ in range(residual_blocks)])
        self.attention = ShortLongAttention(c3)
        self.dec1 = _gated_block(c3, c2, 4, stride=2, padding=1, transposed=True)
        self.fuse1 = nn.Conv2d(2 * c2, c2, 1)
        self.fuse2 = nn.Conv2d(NUM_LANDMARKS + c2, c2, 1)
        self.dec2 = _gated_block(c2, c1, 4, stride=2, padding=1, transposed=True)
        self.fuse3 = nn.Conv2d(2 * c1, c1, 1)
        self.to_rgb = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(c1, 3, 7))
        self.landmarks = LandmarkBranch(c3, c2, width) if landmark_head == "paper" \
            else HeatmapLandmarkBranch(c3, width)
        self.prior = LipPrior(gain=prior_gain) if coarse_fill == "lip_prior" else None
        if coarse_fill != "none":
            nn.init.zeros_(self.to_rgb[1].weight)
            nn.init.zeros_(self.to_rgb[1].bias)

    def encode(self, image: torch.Tensor, hole: torch.Tensor) -> Encoded:
        """The shared encoder: everything that does not depend on the landmarks."""
        known = 1 - hole
        base = image * known if self.coarse_fill == "none" else harmonic_fill(image, hole)
        e1 = self.enc1(torch.cat([base, hole], dim=1))            # 256 x 256
        e2 = self.enc2(e1)                                         # 128 x 128
        e3 = self.enc3(e2)                                         # 64 x 64
        hole64 = _resize_hole(hole, e3.shape[-1])
        shared = self.attention(self.middle(e3), e3, hole64)
        return Encoded(hole, base, e1, e2, shared, hole64)

    def predict_landmarks(self, enc: Encoded) -> tuple[torch.Tensor, torch.Tensor]:
        """(landmarks (N, 68, 2) in [0, 1], the fusion F1 the image branch continues from)."""
        d1 = self.dec1(enc.shared)
        known128 = 1 - _resize_hole(enc.hole, d1.shape[-1])
        f1 = self.fuse1(torch.cat([enc.e2 * known128, d1], dim=1))
        if isinstance(self.landmarks, LandmarkBranch):
            return self.landmarks(enc.shared, f1), f1
        return self.landmarks(enc.shared, enc.hole64), f1

    def render(self, enc: Encoded, f1: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
        """The image branch from the encoding and the landmarks ``guide`` (N, 68, 2) it is told to follow."""
        f2 = self.fuse2(torch.cat([landmark_map(guide, f1.shape[-1], self.landmark_sigma).to(f1.dtype), f1], dim=1))
        d2 = self.dec2(f2)
        f3 = self.fuse3(torch.cat([enc.e1 * (1 - enc.hole), d2], dim=1))
        if self.coarse_fill == "none":
            return (torch.tanh(self.to_rgb(f3)) + 1) / 2
        if self.prior is None:
            return torch.sigmoid(torch.logit(enc.base.clamp(1e-3, 1 - 1e-3)) + self.to_rgb(f3).float())
        logit = self.prior(enc.base, enc.hole, guide) + self.to_rgb(f3).float()
        return torch.sigmoid(self.prior.keep_colour(logit, enc.base, enc.hole))

    def forward(self, image: torch.Tensor, hole: torch.Tensor, landmarks: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """``landmarks`` (N, 68, 2), when given, replace the predicted ones in the image branch (steering);
        rows that are NaN keep the prediction. The predicted landmarks are returned either way."""
        enc = self.encode(image, hole)
        predicted, f1 = self.predict_landmarks(enc)
        guide = predicted if landmarks is None else \
            torch.where(torch.isnan(landmarks), predicted, landmarks.to(predicted.dtype))
        return self.render(enc, f1, guide), predicted


class SelfAttention(nn.Module):
    """SAGAN self-attention used inside the discriminator."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        key_ch = max(1, channels // 8)
        self.query = spectral_norm(nn.Conv2d(channels, key_ch, 1))
        self.key = spectral_norm(nn.Conv2d(channels, key_ch, 1))
        self.value = spectral_norm(nn.Conv2d(channels, channels, 1))
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        attention = torch.softmax(torch.bmm(self.query(x).flatten(2).transpose(1, 2), self.key(x).flatten(2)), -1)
        out = torch.bmm(self.value(x).flatten(2), attention.transpose(1, 2)).view(n, c, h, w)
        return x + self.gamma * out


class PatchDiscriminator(LayerStack):
    """Five-layer spectral-norm PatchGAN with self-attention after the second convolution.

    ``features(x)`` returns the intermediate activations too, for the feature-matching loss that
    stands in for VGG perceptual/style losses when no pretrained VGG is available.
    """

    def __init__(self, in_ch: int = 3, width: float = 1.0) -> None:
        super().__init__()
        c = [_ch(64, width), _ch(128, width), _ch(256, width), _ch(512, width)]

        def sn_conv(i: int, o: int, stride: int) -> nn.Module:
            return spectral_norm(nn.Conv2d(i, o, 4, stride=stride, padding=1))

        self.layers = nn.ModuleList([
            nn.Sequential(sn_conv(in_ch, c[0], 2), nn.LeakyReLU(0.2, inplace=True)),
            nn.Sequential(sn_conv(c[0], c[1], 2), nn.LeakyReLU(0.2, inplace=True), SelfAttention(c[1])),
            nn.Sequential(sn_conv(c[1], c[2], 2), nn.LeakyReLU(0.2, inplace=True)),
            nn.Sequential(sn_conv(c[2], c[3], 1), nn.LeakyReLU(0.2, inplace=True)),
            sn_conv(c[3], 1, 1),
        ])
