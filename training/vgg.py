"""A small VGG-16 feature extractor that loads a torchvision-layout ``vgg16`` state dict from a user path.

torchvision is not a dependency (it does not import on the CPU wheel), so the 13 convolutions of
``vgg16().features`` are rebuilt here with the same indices; the user's file (``.pth`` state dict
or ``.safetensors``) is loaded with ``weights_only=True`` (no pickle code is run).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from training.errors import ConfigError

# torchvision vgg16 "D" configuration; "M" = max pool.
_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
# names of the ReLU outputs after each conv, in order
_RELU_NAMES = ["relu1_1", "relu1_2", "relu2_1", "relu2_2", "relu3_1", "relu3_2", "relu3_3",
               "relu4_1", "relu4_2", "relu4_3", "relu5_1", "relu5_2", "relu5_3"]
PERCEPTUAL_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
STYLE_LAYERS = ("relu2_2", "relu3_3", "relu4_3", "relu5_3")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class VGG16Features(nn.Module):
    """``features`` of torchvision's vgg16, returning the named ReLU activations (frozen)."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        names: dict[int, str] = {}
        in_ch, relu_i = 3, 0
        for v in _CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
                continue
            layers.append(nn.Conv2d(in_ch, int(v), 3, padding=1))
            layers.append(nn.ReLU(inplace=False))
            names[len(layers) - 1] = _RELU_NAMES[relu_i]
            relu_i += 1
            in_ch = int(v)
        self.features = nn.Sequential(*layers)
        self._names = names
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor, wanted: tuple[str, ...]) -> dict[str, torch.Tensor]:
        x = (x - self.mean) / self.std
        out: dict[str, torch.Tensor] = {}
        last = max(i for i, n in self._names.items() if n in wanted)
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self._names and self._names[i] in wanted:
                out[self._names[i]] = x
            if i == last:
                break
        return out


def load_vgg16(path: Path | str) -> VGG16Features:
    """Build VGG16Features from a torchvision-layout state dict file; keys other than ``features.*`` are ignored."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"VGG-16 weights file {path} does not exist.")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    features = {k: v for k, v in state.items() if k.startswith("features.")}
    model = VGG16Features()
    try:
        model.load_state_dict(features, strict=True)
    except RuntimeError as exc:
        raise ConfigError(f"{path} is not a torchvision vgg16 state dict: {exc}") from exc
    model.eval().requires_grad_(False)
    return model
