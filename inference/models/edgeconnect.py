"""EdgeConnect (Nazeri et al., "EdgeConnect: Structure Guided Image Inpainting using Edge Prediction",
ICCV Workshops 2019), written from the paper's description.

Two stages, each an encoder - dilated residual blocks - decoder generator:

1. ``EdgeGenerator`` completes the Canny edge map: input the masked grayscale image, the masked
   edge map and the mask; output an edge probability map.
2. ``InpaintGenerator`` paints RGB: input the masked image and the composite edge map (known
   edges outside the hole, predicted ones inside).

Faithful: the layer plan (7x7 convolution, two stride-2 4x4 convolutions to 256 channels, 8
residual blocks with dilation 2, two 4x4 transposed convolutions, 7x7 convolution), instance
normalisation, spectral normalisation in the edge generator (every layer but the output one), the
masked inputs with zeros in the hole (Ĩ = I ⊙ (1 - M)), the composite edge map, and the
five-layer spectral-norm PatchGAN discriminators (``SNPatchDiscriminator``, no self-attention, so
not our ``PatchDiscriminator``).

Edges (``canny_edges``): the paper used scikit-image's Canny with sigma = 2. We use OpenCV on CPU
numpy arrays with the same recipe: a Gaussian of sigma 2 (radius 4 sigma) normalised by the
smoothed mask of the pixels it may see (so hole pixels never enter, as scikit-image does with its
``mask`` argument), the 3x3 Sobel gradient with the L2 norm, hysteresis thresholds 0.1 and 0.2 of
the intensity range (scikit-image's defaults), and no edges on the mask's one-pixel erosion border.
The smoothed image is quantised to 8 bits before ``cv2.Canny`` and OpenCV's non-maximum suppression
is not scikit-image's: on 10 UTKFace faces at 256 x 256 the edge-pixel counts agreed within 8 % (ours
slightly fewer) and 95-99.8 % of our edge pixels lay within one pixel of scikit-image's (exact
overlap IoU 0.57-0.77).
Grayscale uses scikit-image's ``rgb2gray`` weights (0.2125, 0.7154, 0.0721).

Simplified / chosen: a ``width`` multiplier scales every channel count (1.0 = the paper's
64/128/256); the generators take images in [0, 1] (our convention) and the RGB output is
``(tanh + 1) / 2``.

Parameter counts (``count_parameters``): width 1.0 - edge generator 10,760,449, inpainting
generator 10,774,595 (the paper: ~10.8 M each), ``EdgeConnect`` 21,535,044; discriminators
2,762,752 (edges + gray) and 2,764,800 (RGB + edges). Width 0.25 - edge generator 674,881,
inpainting generator 678,419, ``EdgeConnect`` 1,353,300, discriminators ~175 k each.
Compute at 256 x 256: 193.5 GFLOP per image at width 1.0, 12.9 GFLOP at width 0.25
(``torch.utils.flop_counter``; our ``NCLGMTGenerator``: 134.3 and 12.7).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn.utils import spectral_norm

from inference.models.layer_stack import LayerStack

GRAY_WEIGHTS = (0.2125, 0.7154, 0.0721)   # scikit-image rgb2gray, what the paper's edges were computed on
CANNY_SIGMA = 2.0
CANNY_LOW, CANNY_HIGH = 0.1, 0.2          # hysteresis thresholds as fractions of the intensity range


def scaled(base: int, width: float) -> int:
    """Channel count for a width multiplier, never below 8."""
    return max(8, int(round(base * width)))


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def to_gray(image: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB -> (N, 1, H, W) luminance with scikit-image's ``rgb2gray`` weights."""
    weights = torch.tensor(GRAY_WEIGHTS, dtype=image.dtype, device=image.device).view(1, 3, 1, 1)
    return (image * weights).sum(dim=1, keepdim=True)


def canny_numpy(gray: np.ndarray, known: np.ndarray | None = None, sigma: float = CANNY_SIGMA,
                low: float = CANNY_LOW, high: float = CANNY_HIGH) -> np.ndarray:
    """Canny edges (float32 0/1) of one (H, W) grayscale image in [0, 1]; only ``known`` pixels are seen."""
    gray = gray.astype(np.float32)
    seen = np.ones_like(gray) if known is None else known.astype(np.float32)
    blur = dict(ksize=(0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_CONSTANT)
    weight = cv2.GaussianBlur(seen, **blur)
    smooth = cv2.GaussianBlur(gray * seen, **blur) / np.maximum(weight, 1e-6)
    smooth_u8 = np.clip(np.rint(smooth * 255), 0, 255).astype(np.uint8)
    edges = cv2.Canny(smooth_u8, low * 255, high * 255, L2gradient=True) > 0
    inner = cv2.erode((seen > 0.5).astype(np.uint8), np.ones((3, 3), np.uint8),
                      borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return (edges & (inner > 0)).astype(np.float32)


def canny_edges(gray: torch.Tensor, known: torch.Tensor | None = None, sigma: float = CANNY_SIGMA) -> torch.Tensor:
    """Canny edges of (N, 1, H, W) grayscale in [0, 1], computed on the CPU with OpenCV (not differentiable).

    ``known`` (N, 1, H, W), 1 = visible: edges from the visible pixels only (inference); None: the
    whole image (the training target).
    """
    g = gray.detach().float().cpu().numpy()[:, 0]
    k = None if known is None else known.detach().float().cpu().numpy()[:, 0]
    out = np.stack([canny_numpy(g[i], None if k is None else k[i], sigma) for i in range(len(g))])
    return torch.from_numpy(out).unsqueeze(1).to(device=gray.device, dtype=gray.dtype)


def _sn(module: nn.Module, spectral: bool) -> nn.Module:
    return spectral_norm(module) if spectral else module


class ResnetBlock(nn.Module):
    """EdgeConnect's residual block: dilated 3x3, IN, ReLU, 3x3, IN, added to the input."""

    def __init__(self, channels: int, dilation: int = 2, spectral: bool = False) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(dilation),
            _sn(nn.Conv2d(channels, channels, 3, dilation=dilation, bias=not spectral), spectral),
            nn.InstanceNorm2d(channels, track_running_stats=False),
            nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1),
            _sn(nn.Conv2d(channels, channels, 3, bias=not spectral), spectral),
            nn.InstanceNorm2d(channels, track_running_stats=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class EncoderResDecoder(nn.Module):
    """7x7 conv, two stride-2 4x4 convs, ``blocks`` dilated residual blocks, two 4x4 transposed convs, 7x7 conv.

    Returns the raw output of the last convolution; the caller picks the output activation.
    """

    def __init__(self, in_ch: int, out_ch: int, width: float = 1.0, blocks: int = 8, spectral: bool = False) -> None:
        super().__init__()
        c1, c2, c3 = scaled(64, width), scaled(128, width), scaled(256, width)

        def norm_act(ch: int) -> list[nn.Module]:
            return [nn.InstanceNorm2d(ch, track_running_stats=False), nn.ReLU(inplace=True)]

        bias = not spectral
        self.encoder = nn.Sequential(
            nn.ReflectionPad2d(3), _sn(nn.Conv2d(in_ch, c1, 7, bias=bias), spectral), *norm_act(c1),
            _sn(nn.Conv2d(c1, c2, 4, stride=2, padding=1, bias=bias), spectral), *norm_act(c2),
            _sn(nn.Conv2d(c2, c3, 4, stride=2, padding=1, bias=bias), spectral), *norm_act(c3),
        )
        self.middle = nn.Sequential(*[ResnetBlock(c3, 2, spectral) for _ in range(blocks)])
        self.decoder = nn.Sequential(
            _sn(nn.ConvTranspose2d(c3, c2, 4, stride=2, padding=1, bias=bias), spectral), *norm_act(c2),
            _sn(nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1, bias=bias), spectral), *norm_act(c1),
            nn.ReflectionPad2d(3), nn.Conv2d(c1, out_ch, 7),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.middle(self.encoder(x)))


class EdgeGenerator(nn.Module):
    """Stage 1: (grayscale, edges, hole) -> edge probability map (N, 1, H, W); spectral norm throughout."""

    def __init__(self, width: float = 1.0, blocks: int = 8) -> None:
        super().__init__()
        self.net = EncoderResDecoder(3, 1, width, blocks, spectral=True)

    def forward(self, gray: torch.Tensor, edges: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        known = 1 - hole
        return torch.sigmoid(self.net(torch.cat([gray * known, edges * known, hole], dim=1)))


class InpaintGenerator(nn.Module):
    """Stage 2: (masked RGB, composite edges) -> RGB (N, 3, H, W) in [0, 1]; no spectral norm."""

    def __init__(self, width: float = 1.0, blocks: int = 8) -> None:
        super().__init__()
        self.net = EncoderResDecoder(4, 3, width, blocks, spectral=False)

    def forward(self, image: torch.Tensor, hole: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
        return (torch.tanh(self.net(torch.cat([image * (1 - hole), edges], dim=1))) + 1) / 2


class SNPatchDiscriminator(LayerStack):
    """EdgeConnect's discriminator: five 4x4 spectral-norm convolutions (strides 2, 2, 2, 1, 1), LeakyReLU 0.2.

    Returns logits (the sigmoid is left to the loss); ``features(x)`` also returns the activations
    of every layer, for feature matching.
    """

    def __init__(self, in_ch: int, width: float = 1.0) -> None:
        super().__init__()
        c = [in_ch, scaled(64, width), scaled(128, width), scaled(256, width), scaled(512, width)]
        strides = (2, 2, 2, 1)
        layers: list[nn.Module] = [
            nn.Sequential(spectral_norm(nn.Conv2d(c[i], c[i + 1], 4, stride=strides[i], padding=1, bias=False)),
                          nn.LeakyReLU(0.2, inplace=True))
            for i in range(4)
        ]
        layers.append(spectral_norm(nn.Conv2d(c[4], 1, 4, stride=1, padding=1, bias=False)))
        self.layers = nn.ModuleList(layers)


@dataclass
class EdgeConnectOutput:
    rgb: torch.Tensor          # (N, 3, H, W) in [0, 1], not composited
    edges: torch.Tensor        # the composite edge map stage 2 drew from
    edges_pred: torch.Tensor   # stage 1's edge probabilities over the whole image
    edges_known: torch.Tensor  # the edges stage 1 was given (zero in the hole)
    gray: torch.Tensor         # the grayscale image (hole pixels included; the networks only see them masked)


class EdgeConnect(nn.Module):
    """Both stages behind our networks' interface: ``forward(image, hole) -> (rgb, None)``.

    ``image`` (N, 3, H, W) in [0, 1], ``hole`` (N, 1, H, W) 1 = missing (H, W divisible by 4). The
    Canny edges of the visible grayscale are computed inside (``canny_edges``), so every caller
    passes the same two tensors as to ``NCLGMTGenerator``.
    """

    #: what the network is called with, for a model card's preprocessing
    network_input = "image, hole NCHW (image in [0, 1], hole 1 = missing); Canny edges of the visible grayscale " \
                    "(sigma 2) computed inside; stage 1: cat([gray * (1 - hole), edges * (1 - hole), hole]), " \
                    "stage 2: cat([image * (1 - hole), composite edges])"

    def __init__(self, width: float = 1.0, blocks: int = 8, sigma: float = CANNY_SIGMA) -> None:
        super().__init__()
        self.width, self.sigma = width, sigma
        self.edge = EdgeGenerator(width, blocks)
        self.inpaint = InpaintGenerator(width, blocks)

    def generate(self, image: torch.Tensor, hole: torch.Tensor, edges: torch.Tensor | None = None,
                 edges_for_inpaint: torch.Tensor | None = None) -> EdgeConnectOutput:
        """``edges``: the edge map to start from (training passes the whole image's Canny map; only
        its visible part is used); default the Canny map of the visible pixels. ``edges_for_inpaint``
        replaces the composite edge map of stage 2 (training stage 2 alone on the true edges)."""
        known = 1 - hole
        gray = to_gray(image)
        if edges is None:
            edges = canny_edges(gray, known, self.sigma)
        edges_known = edges * known
        edges_pred = self.edge(gray, edges_known, hole)
        composite = edges_known + edges_pred * hole if edges_for_inpaint is None else edges_for_inpaint
        rgb = self.inpaint(image, hole, composite)
        return EdgeConnectOutput(rgb, composite, edges_pred, edges_known, gray)

    def forward(self, image: torch.Tensor, hole: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.generate(image, hole).rgb, None
