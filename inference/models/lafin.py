"""LaFIn (Yang et al., "LaFIn: Generative Landmark Guided Face Inpainting", 2020), written from the paper's description.

Two stages, kept separate on purpose (the comparison must show the two-stage design as it is):

1. ``LandmarkPredictor``: a MobileNetV2-style network (inverted residual blocks, width
   multiplier) regresses 68 landmarks, normalised (x, y) in [0, 1], from the masked face
   Ĩ = I ⊙ (1 - M) alone, as in the paper (it is not given the mask). Multi-scale features
   (pooled outputs of the 1/16 and 1/32 stages and of the final 1x1 expansion) are concatenated
   before one linear layer, as the paper fuses scales.
2. ``LandmarkGuidedGenerator``: input the masked image, the mask and a one-channel landmark map
   (ones at the landmarks, or Gaussians with ``landmark_sigma`` > 0); an EdgeConnect-style encoder
   (7x7 conv, two stride-2 convs), dilated residual blocks (no attention), decoder; RGB out.

``LaFIn.forward(image, hole, landmarks=None) -> (rgb, landmarks)`` predicts the landmarks first,
then inpaints from them; given ``landmarks`` (N, 68, 2) replace the prediction in the generator
(NaN entries keep it), like ``NCLGMTGenerator``, so the app can steer it.

Simplified / chosen: 7 residual blocks (the count our multi-task network inherited from LaFIn;
``blocks`` is a constructor argument), instance normalisation, no spectral norm in the generator;
the landmark map is drawn at the image's resolution; images in [0, 1], RGB out ``(tanh + 1) / 2``;
the predictor's MobileNetV2 uses the standard (t, c, n, s) plan with every channel count, the
1280-channel expansion included, scaled by ``width`` (at least 8).

Parameter counts (``count_parameters``): width 1.0 - predictor 2,454,664, generator 9,597,571,
``LaFIn`` 12,052,235, discriminator 2,763,776; width 0.25 - predictor 217,192, generator 605,347,
``LaFIn`` 822,539. Compute at 256 x 256: 88.9 GFLOP per image at width 1.0, 6.2 at width 0.25.
"""

from __future__ import annotations

import torch
from torch import nn

from inference.models.edgeconnect import EncoderResDecoder, scaled

NUM_LANDMARKS = 68
# MobileNetV2 inverted-residual plan: expansion t, output channels c, repeats n, first stride s
MOBILENET_V2 = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                (6, 320, 1, 1))


def _conv_bn(in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1, act: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2, groups=groups, bias=False),
                               nn.BatchNorm2d(out_ch)]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """1x1 expansion, 3x3 depthwise (stride), linear 1x1 projection; identity shortcut when shapes match."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = in_ch * expansion
        layers: list[nn.Module] = [] if expansion == 1 else [_conv_bn(in_ch, hidden, 1)]
        layers += [_conv_bn(hidden, hidden, 3, stride, groups=hidden), _conv_bn(hidden, out_ch, 1, act=False)]
        self.body = nn.Sequential(*layers)
        self.shortcut = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) if self.shortcut else self.body(x)


class LandmarkPredictor(nn.Module):
    """Masked face (N, 3, H, W) in [0, 1] -> (N, 68, 2) landmarks in [0, 1]."""

    def __init__(self, width: float = 1.0) -> None:
        super().__init__()
        stem = scaled(32, width)
        self.stem = _conv_bn(3, stem, 3, stride=2)
        stages, in_ch = [], stem
        for t, c, n, s in MOBILENET_V2:
            out_ch = scaled(c, width)
            blocks = [InvertedResidual(in_ch if i == 0 else out_ch, out_ch, s if i == 0 else 1, t) for i in range(n)]
            stages.append(nn.Sequential(*blocks))
            in_ch = out_ch
        self.stages = nn.ModuleList(stages)
        self.expand = _conv_bn(in_ch, scaled(1280, width), 1)
        self.scale_ids = (4, 6)  # stages whose pooled outputs join the head: 96 channels at 1/16, 320 at 1/32
        fused = scaled(96, width) + scaled(320, width) + scaled(1280, width)
        self.fc = nn.Linear(fused, NUM_LANDMARKS * 2)

    def forward(self, masked_image: torch.Tensor) -> torch.Tensor:
        x = self.stem(masked_image)
        pooled = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in self.scale_ids:
                pooled.append(x.mean(dim=(2, 3)))
        pooled.append(self.expand(x).mean(dim=(2, 3)))
        return torch.sigmoid(self.fc(torch.cat(pooled, dim=1))).view(-1, NUM_LANDMARKS, 2)


def landmark_point_map(landmarks: torch.Tensor, height: int, width: int, sigma: float = 0.0) -> torch.Tensor:
    """(N, 68, 2) landmarks in [0, 1] -> one-channel (N, 1, height, width) map.

    ``sigma == 0``: a 1 at each landmark's pixel (floor(coord * size), clamped), 0 elsewhere (the
    paper's map). ``sigma > 0``: the maximum over points of Gaussians of ``sigma`` pixels. The map
    carries no gradient to the landmarks (the stages are trained separately).
    """
    points = landmarks.detach().float()
    n = points.shape[0]
    if sigma <= 0:
        px = (points[..., 0] * width).long().clamp_(0, width - 1)
        py = (points[..., 1] * height).long().clamp_(0, height - 1)
        out = torch.zeros(n, height * width, device=points.device)
        out.scatter_(1, py * width + px, 1.0)
        return out.view(n, 1, height, width).to(landmarks.dtype)
    xs = torch.arange(width, device=points.device, dtype=torch.float32) + 0.5
    ys = torch.arange(height, device=points.device, dtype=torch.float32) + 0.5
    out = torch.zeros(n, height, width, device=points.device)
    for k in range(points.shape[1]):  # one point at a time: (N, 68, H, W) at 256 x 256 would be large
        gx = torch.exp(-(xs.view(1, -1) - points[:, k, 0:1] * width).square() / (2 * sigma ** 2))    # N, W
        gy = torch.exp(-(ys.view(1, -1) - points[:, k, 1:2] * height).square() / (2 * sigma ** 2))   # N, H
        out = torch.maximum(out, gy[:, :, None] * gx[:, None, :])
    return out.unsqueeze(1).to(landmarks.dtype)


class LandmarkGuidedGenerator(nn.Module):
    """(masked image, hole, landmark map) -> RGB (N, 3, H, W) in [0, 1]."""

    def __init__(self, width: float = 1.0, blocks: int = 7, landmark_sigma: float = 0.0) -> None:
        super().__init__()
        self.landmark_sigma = landmark_sigma
        self.net = EncoderResDecoder(5, 3, width, blocks, spectral=False)

    def forward(self, image: torch.Tensor, hole: torch.Tensor, landmarks: torch.Tensor) -> torch.Tensor:
        h, w = image.shape[-2:]
        point_map = landmark_point_map(landmarks, h, w, self.landmark_sigma).to(image.dtype)
        x = torch.cat([image * (1 - hole), hole, point_map], dim=1)
        return (torch.tanh(self.net(x)) + 1) / 2


class LaFIn(nn.Module):
    """Landmark predictor, then landmark-guided generator: ``forward(image, hole, landmarks=None) -> (rgb, landmarks)``.

    ``image`` (N, 3, H, W) in [0, 1], ``hole`` (N, 1, H, W) 1 = missing; the returned landmarks are
    the predictor's, (N, 68, 2) in [0, 1], whether or not ``landmarks`` overrode them.
    """

    #: what the network is called with, for a model card's preprocessing
    network_input = "image, hole NCHW (image in [0, 1], hole 1 = missing); predictor: image * (1 - hole); " \
                    "generator: cat([image * (1 - hole), hole, landmark map])"

    def __init__(self, width: float = 1.0, blocks: int = 7, landmark_sigma: float = 0.0) -> None:
        super().__init__()
        self.width = width
        self.predictor = LandmarkPredictor(width)
        self.generator = LandmarkGuidedGenerator(width, blocks, landmark_sigma)

    def predict_landmarks(self, image: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        return self.predictor(image * (1 - hole))

    def forward(self, image: torch.Tensor, hole: torch.Tensor, landmarks: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        predicted = self.predict_landmarks(image, hole)
        guide = predicted if landmarks is None else \
            torch.where(torch.isnan(landmarks), predicted, landmarks.to(predicted.dtype))
        return self.generator(image, hole, guide), predicted
