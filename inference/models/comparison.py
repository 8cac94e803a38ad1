"""Registry entries for the thesis's comparison networks: EdgeConnect, LaFIn and CTSDG.

Each is registered full size (width 1.0, the paper's channel counts) and lite (width 0.25, the
CPU-trainable variant that is compared with NCLG-MT lite), exactly like ``nclg-mt`` /
``nclg-mt-lite``: their resolution and input convention are what the model card says, the card is
checked against the network built from it, and a model without trained weights is listed with the
reason and refused at load (``WeightsMissingError``); nothing here ever runs random weights.

The networks are ``inference.models.edgeconnect``, ``lafin`` and ``ctsdg``; they are trained by
``python -m training train training/configs/<name>.toml`` (``architecture = "edgeconnect"`` ...) and
exported by ``python -m training export`` (see docs/reports/comparison-networks.md).
"""

from __future__ import annotations

import torch

from inference.checkpoints import register_network_input
from inference.errors import WeightsMissingError
from inference.models.base import TorchInpaintModel
from inference.models.ctsdg import CTSDG
from inference.models.edgeconnect import EdgeConnect
from inference.models.lafin import LaFIn
from inference.models.landmark_guided import model_from_folder
from inference.models.registry import ModelSpec, register_model

#: architecture key (the training config's ``architecture``) -> network class; the class name is what a card records
ARCHITECTURES: dict[str, type[torch.nn.Module]] = {"edgeconnect": EdgeConnect, "lafin": LaFIn, "ctsdg": CTSDG}

for _cls in ARCHITECTURES.values():
    register_network_input(_cls)

_NEEDS = frozenset({"image", "mask"})
_PAPERS = {
    "edgeconnect": ("EdgeConnect", "EdgeConnect (Nazeri et al., \"EdgeConnect: Structure Guided Image Inpainting using "
                    "Edge Prediction\", ICCV Workshops 2019): a first network completes the Canny edge map of the "
                    "masked face, a second paints the colours along the completed edges"),
    "lafin": ("LaFIn", "LaFIn (Yang et al., \"LaFIn: Generative Landmark Guided Face Inpainting\", 2020): a "
                       "MobileNetV2 landmark predictor, then a separate generator guided by its 68 landmarks (the "
                       "two-stage design the multi-task network replaces)"),
    "ctsdg": ("CTSDG", "CTSDG (Guo et al., \"Image Inpainting via Conditional Texture and Structure Dual Generation\", "
                       "ICCV 2021): coupled texture and structure streams of partial convolutions with gated fusion "
                       "and contextual feature aggregation"),
}
#: parameters of the whole network (``count_parameters``), as in each module's docstring
_PARAMETERS = {("edgeconnect", 1.0): "21.5 M", ("edgeconnect", 0.25): "1.35 M", ("lafin", 1.0): "12.1 M",
               ("lafin", 0.25): "0.82 M", ("ctsdg", 1.0): "52.1 M", ("ctsdg", 0.25): "3.27 M"}
_PROTOCOL = ("Implemented for the blinded comparison with NCLG-MT; its weights are trained under the same protocol "
             "as the NCLG-MT network it is compared with: the same open training faces, cleft-like masks, resolution, "
             "number of images seen and hardware (docs/reports/comparison-networks.md)")

#: registered model name -> (architecture key, width)
MODELS: dict[str, tuple[str, float]] = {}


def _builder(architecture: str):  # noqa: ANN202
    cls = ARCHITECTURES[architecture]

    def build(spec: ModelSpec, device: torch.device) -> TorchInpaintModel:
        status = spec.weights_status()
        if not status.available or status.folder is None:
            raise WeightsMissingError(f"{spec.display_name} cannot run: {status.reason}")
        return model_from_folder(spec, status.folder, device, {cls.__name__: cls})

    return build


for _key, (_title, _paper) in _PAPERS.items():
    for _suffix, _width, _display, _what in [
        ("", 1.0, f"{_title} (full size)", "the paper's channel counts (width 1.0)"),
        ("-lite", 0.25, f"{_title} lite", "quarter-width variant (width 0.25) for CPU training"),
    ]:
        _name = f"{_key}{_suffix}"
        MODELS[_name] = (_key, _width)
        register_model(ModelSpec(
            name=_name, display_name=_display, needs=_NEEDS, neural=True,
            description=f"{_paper}. {_what[0].upper() + _what[1:]}, {_PARAMETERS[(_key, _width)]} parameters. "
                        f"{_PROTOCOL}.",
            builder=_builder(_key), input_convention=ARCHITECTURES[_key].network_input))
