"""CTSDG (Guo et al., "Image Inpainting via Conditional Texture and Structure Dual Generation", ICCV 2021),
written from the paper's description.

Two coupled streams of partial-convolution U-Nets:

- encoders: the **texture** encoder sees the masked image, the **structure** encoder the masked
  Canny edges and masked grayscale; seven partial convolutions each (7x7, 5x5, 5x5, then 3x3,
  all stride 2; 64-128-256-512-512-512-512 channels at width 1; batch norm after all but the
  first, ReLU), each carrying its updated mask;
- decoders that cross: the texture decoder starts from the *structure* encoder's deepest
  features and takes the texture encoder's skips (structure-constrained texture synthesis); the
  structure decoder starts from the *texture* encoder's deepest features and takes the structure
  skips (texture-guided structure reconstruction). Upsampling: bilinear features, nearest masks,
  then a 3x3 partial convolution with batch norm and LeakyReLU 0.2 over the concatenated skip;
- projections of the two decoder outputs, used only by the losses (the paper's intermediate
  supervision): an RGB image from the texture stream and an edge map (logits) from the structure
  stream (``CTSDGOutput.rgb_texture``, ``edge_logits``);
- bi-directional gated feature fusion (``BiGatedFusion``): each stream receives the other
  through a sigmoid gate computed from both, scaled by a learned factor that starts at 0;
- contextual feature aggregation (``ContextualFeatureAggregation``) at half resolution: region
  affinity between 3x3 patches (cosine similarity with the patches normalised, softmax with scale
  10) computed at a further 2x downsampling, each position rebuilt from the affinity-weighted 4x4
  patches of the full-resolution map (transposed-convolution style, overlaps averaged), then
  multi-scale aggregation: dilated 3x3 convolutions (rates 1, 2, 4, 8) mixed by per-pixel
  softmax weights;
- the output: the aggregated features upsampled and concatenated with the fused ones, a 1x1
  convolution, ``(tanh + 1) / 2``.

``CTSDGDiscriminator``: a texture branch (spectral-norm PatchGAN on RGB), a structure branch (the
same on edge map + grayscale) and a small learned edge detector that extracts the edge map of the
image being judged, as the paper describes.

Simplified / chosen: the affinity is computed by matrix products over all positions (the same
numbers as the paper's convolution with normalised patches); overlaps of rebuilt patches are
divided by their actual count (the border included); the structure projection predicts the edge
map only; images in [0, 1]; a ``width`` multiplier scales every channel count (1.0 = the paper's);
H and W must be divisible by 4.

Parameter counts (``count_parameters``): width 1.0 - ``CTSDG`` 52,147,789, discriminator 5,531,729;
width 0.25 - ``CTSDG`` 3,266,461, discriminator 350,889. Compute at 256 x 256: 136.6 GFLOP per image
at width 1.0, 18.9 at width 0.25, of which ~13.4 is the region affinity (quadratic in the 64 x 64
positions it compares, only linear in the width multiplier).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from inference.models.edgeconnect import CANNY_SIGMA, SNPatchDiscriminator, canny_edges, scaled, to_gray
from inference.models.partial_conv import PartialConv2d

ENCODER_CHANNELS = (64, 128, 256, 512, 512, 512, 512)
ENCODER_KERNELS = (7, 5, 5, 3, 3, 3, 3)


class PConvBlock(nn.Module):
    """Partial convolution, optional batch norm, activation; carries the mask."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, bn: bool, activation: str,
                 multi_channel: bool = False) -> None:
        super().__init__()
        self.conv = PartialConv2d(in_ch, out_ch, kernel, stride, kernel // 2, bias=not bn, multi_channel=multi_channel)
        self.bn = nn.BatchNorm2d(out_ch) if bn else nn.Identity()
        self.act = nn.ReLU(inplace=True) if activation == "relu" else nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, mask = self.conv(x, mask)
        return self.act(self.bn(x)), mask


class PConvEncoder(nn.Module):
    def __init__(self, in_ch: int, width: float, depth: int = 7) -> None:
        super().__init__()
        chans = [scaled(c, width) for c in ENCODER_CHANNELS[:depth]]
        self.channels = chans
        self.layers = nn.ModuleList(
            PConvBlock(in_ch if i == 0 else chans[i - 1], chans[i], ENCODER_KERNELS[i], 2, bn=i > 0, activation="relu")
            for i in range(depth))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Features and masks from the input (level 0) to the deepest level."""
        feats, masks = [x], [mask]
        for layer in self.layers:
            x, mask = layer(x, mask)
            feats.append(x)
            masks.append(mask)
        return feats, masks


class PConvDecoder(nn.Module):
    """U-Net decoder over another encoder's skips; starts from whatever deepest features it is given."""

    def __init__(self, skip_in_ch: int, encoder_channels: list[int]) -> None:
        super().__init__()
        depth = len(encoder_channels)
        skips = [skip_in_ch] + encoder_channels[:-1]          # skip channels at levels 0..depth-1
        outs = [encoder_channels[0]] + encoder_channels[:-1]  # level 0 ends at the first encoder width
        layers, prev = [], encoder_channels[-1]
        for level in reversed(range(depth)):
            layers.append(PConvBlock(prev + skips[level], outs[level], 3, 1, bn=True, activation="leaky",
                                     multi_channel=True))
            prev = outs[level]
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, skips: list[torch.Tensor],
                skip_masks: list[torch.Tensor]) -> torch.Tensor:
        for layer, level in zip(self.layers, reversed(range(len(self.layers)))):
            skip, skip_mask = skips[level], skip_masks[level]
            size = skip.shape[-2:]
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
            mask = F.interpolate(mask, size=size, mode="nearest")
            both = torch.cat([mask.expand(-1, x.shape[1], -1, -1), skip_mask.expand(-1, skip.shape[1], -1, -1)], 1)
            x, mask = layer(torch.cat([x, skip], dim=1), both)
        return x


class BiGatedFusion(nn.Module):
    """Bi-directional gated feature fusion: F_t' = F_t + a (G_s * F_s), F_s' = F_s + b (G_t * F_t), gates from both."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gate_to_texture = nn.Conv2d(2 * channels, channels, 3, padding=1)
        self.gate_to_structure = nn.Conv2d(2 * channels, channels, 3, padding=1)
        self.texture_gamma = nn.Parameter(torch.zeros(1))
        self.structure_gamma = nn.Parameter(torch.zeros(1))

    def forward(self, texture: torch.Tensor, structure: torch.Tensor) -> torch.Tensor:
        both = torch.cat([texture, structure], dim=1)
        texture_out = texture + self.texture_gamma * torch.sigmoid(self.gate_to_texture(both)) * structure
        structure_out = structure + self.structure_gamma * torch.sigmoid(self.gate_to_structure(both)) * texture
        return torch.cat([texture_out, structure_out], dim=1)


class RegionAffinity(nn.Module):
    """Rebuild every position from the patches it resembles (all positions, inside and outside the hole)."""

    def __init__(self, softmax_scale: float = 10.0, rate: int = 2) -> None:
        super().__init__()
        self.softmax_scale, self.rate = softmax_scale, rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        r = self.rate
        if h % r or w % r:
            raise ValueError(f"RegionAffinity needs a feature map divisible by {r}, got {h}x{w}.")
        small = F.interpolate(x, size=(h // r, w // r), mode="bilinear", align_corners=False)
        patches = F.unfold(small, 3, padding=1)                                   # N, C*9, L
        keys = patches / patches.norm(dim=1, keepdim=True).clamp_min(1e-4)
        scores = torch.bmm(patches.transpose(1, 2), keys)                         # N, L (query), L (key)
        attention = torch.softmax(scores * self.softmax_scale, dim=-1)
        kernel = 2 * r
        values = F.unfold(x, kernel, stride=r, padding=(kernel - r) // 2)          # N, C*16, L
        rebuilt = torch.bmm(values, attention.transpose(1, 2))                    # N, C*16, L (query)
        out = F.fold(rebuilt, (h, w), kernel, stride=r, padding=(kernel - r) // 2)
        overlap = F.fold(torch.ones_like(values[:1]), (h, w), kernel, stride=r, padding=(kernel - r) // 2)
        return out / overlap


class MultiScaleAggregation(nn.Module):
    """Dilated 3x3 convolutions (rates 1, 2, 4, 8) mixed by per-pixel softmax weights."""

    def __init__(self, channels: int, rates: tuple[int, ...] = (1, 2, 4, 8)) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(nn.Conv2d(channels, channels, 3, padding=r, dilation=r), nn.ReLU(inplace=True)) for r in rates)
        self.weights = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True),
                                     nn.Conv2d(channels, len(rates), 1), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = torch.softmax(self.weights(x), dim=1)
        return sum(weights[:, i:i + 1] * branch(x) for i, branch in enumerate(self.branches))


class ContextualFeatureAggregation(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.affinity = RegionAffinity()
        self.aggregate = MultiScaleAggregation(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.aggregate(self.affinity(x))


@dataclass
class CTSDGOutput:
    rgb: torch.Tensor            # (N, 3, H, W) in [0, 1], not composited
    rgb_texture: torch.Tensor    # the texture stream's projection (intermediate supervision)
    edge_logits: torch.Tensor    # the structure stream's projected edge map, logits (intermediate supervision)
    edges_known: torch.Tensor    # the edge map the structure encoder was given (zero in the hole)
    gray: torch.Tensor           # the grayscale image (hole included; the encoder only sees it masked)


class CTSDGGenerator(nn.Module):
    """The dual-stream generator on prepared inputs: (image, structure = [edges, gray], known mask)."""

    def __init__(self, width: float = 1.0, depth: int = 7) -> None:
        super().__init__()
        self.texture_encoder = PConvEncoder(3, width, depth)
        self.structure_encoder = PConvEncoder(2, width, depth)
        chans = self.texture_encoder.channels
        self.texture_decoder = PConvDecoder(3, chans)
        self.structure_decoder = PConvDecoder(2, chans)
        c = chans[0]
        self.to_texture = nn.Conv2d(c, 3, 1)
        self.to_structure = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c),
                                          nn.LeakyReLU(0.2, inplace=True), nn.Conv2d(c, 1, 1))
        self.fusion = BiGatedFusion(c)
        self.down = nn.Sequential(nn.Conv2d(2 * c, c, 3, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True))
        self.cfa = ContextualFeatureAggregation(c)
        self.merge = nn.Sequential(nn.Conv2d(2 * c, c, 3, padding=1), nn.LeakyReLU(0.2, inplace=True))
        self.to_rgb = nn.Conv2d(3 * c, 3, 1)

    def forward(self, image: torch.Tensor, structure: torch.Tensor, known: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(rgb, texture projection, edge logits); ``image`` and ``structure`` already masked."""
        t_feats, t_masks = self.texture_encoder(image, known)
        s_feats, s_masks = self.structure_encoder(structure, known)
        texture = self.texture_decoder(s_feats[-1], s_masks[-1], t_feats, t_masks)
        structure_out = self.structure_decoder(t_feats[-1], t_masks[-1], s_feats, s_masks)
        rgb_texture = (torch.tanh(self.to_texture(texture)) + 1) / 2
        edge_logits = self.to_structure(structure_out)
        fused = self.fusion(texture, structure_out)
        half = self.down(fused)
        half = self.merge(torch.cat([half, self.cfa(half)], dim=1))
        up = F.interpolate(half, size=fused.shape[-2:], mode="bilinear", align_corners=False)
        rgb = (torch.tanh(self.to_rgb(torch.cat([up, fused], dim=1))) + 1) / 2
        return rgb, rgb_texture, edge_logits


class CTSDG(nn.Module):
    """CTSDG behind our networks' interface: ``forward(image, hole) -> (rgb, None)``.

    ``image`` (N, 3, H, W) in [0, 1], ``hole`` (N, 1, H, W) 1 = missing. Canny edges of the
    visible grayscale are computed inside (``edgeconnect.canny_edges``, sigma 2).
    """

    #: what the network is called with, for a model card's preprocessing
    network_input = "image, hole NCHW (image in [0, 1], hole 1 = missing); Canny edges of the visible grayscale " \
                    "(sigma 2) computed inside; texture: image * (1 - hole), structure: cat([edges, gray]) * (1 - hole)"

    def __init__(self, width: float = 1.0, depth: int = 7, sigma: float = CANNY_SIGMA) -> None:
        super().__init__()
        self.width, self.sigma = width, sigma
        self.generator = CTSDGGenerator(width, depth)

    def generate(self, image: torch.Tensor, hole: torch.Tensor, edges: torch.Tensor | None = None) -> CTSDGOutput:
        """``edges``: the edge map to start from (training: the whole image's; only its visible part is used)."""
        known = 1 - hole
        gray = to_gray(image)
        if edges is None:
            edges = canny_edges(gray, known, self.sigma)
        edges_known = edges * known
        structure = torch.cat([edges_known, gray * known], dim=1)
        rgb, rgb_texture, edge_logits = self.generator(image * known, structure, known)
        return CTSDGOutput(rgb, rgb_texture, edge_logits, edges_known, gray)

    def forward(self, image: torch.Tensor, hole: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.generate(image, hole).rgb, None


class EdgeDetector(nn.Module):
    """The discriminator's learned edge extractor: 3x3 conv, residual block, 1x1 conv to edge logits."""

    def __init__(self, width: float = 1.0) -> None:
        super().__init__()
        mid = scaled(16, width)
        self.project = nn.Sequential(nn.Conv2d(3, mid, 3, padding=1), nn.BatchNorm2d(mid), nn.ReLU(inplace=True))
        self.residual = nn.Sequential(nn.Conv2d(mid, mid, 3, padding=1), nn.BatchNorm2d(mid), nn.ReLU(inplace=True),
                                      nn.Conv2d(mid, mid, 3, padding=1), nn.BatchNorm2d(mid))
        self.out = nn.Conv2d(mid, 1, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.project(image)
        return self.out(F.relu(x + self.residual(x)))


class CTSDGDiscriminator(nn.Module):
    """Texture branch on RGB, structure branch on (edge map, grayscale), learned edge detector; logits out."""

    def __init__(self, width: float = 1.0) -> None:
        super().__init__()
        self.texture = SNPatchDiscriminator(3, width)
        self.structure = SNPatchDiscriminator(2, width)
        self.edge_detector = EdgeDetector(width)

    def forward(self, image: torch.Tensor, gray: torch.Tensor, edges: torch.Tensor | None = None
                ) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
        """(texture branch features, structure logits, detected edge logits). The structure branch judges
        ``edges`` when given (the real image's Canny map), else the detector's edges of ``image``."""
        edge_logits = self.edge_detector(image)
        judged = torch.sigmoid(edge_logits) if edges is None else edges
        return self.texture.features(image), self.structure(torch.cat([judged, gray], dim=1)), edge_logits
