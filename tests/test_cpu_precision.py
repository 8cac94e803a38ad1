"""bf16 on the CPU: used only where the CPU has it natively, and every shipped network's output stays
far inside what anyone can see (>= 40 dB PSNR against fp32 on real faces)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import inference.devices as devices
from inference.devices import autocast_for, set_cpu_precision
from inference.errors import InferenceError
from inference.face.suggest import mouth_nostril_mask
from inference.models.registry import list_models, load_model
from inference.pipeline import FacePipeline

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def precision():
    before = devices.cpu_precision()
    yield set_cpu_precision
    set_cpu_precision(before)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def _real_faces() -> list[np.ndarray]:
    """The astronaut bundled with scikit-image (always here) and one open-data face when present."""
    from skimage import data

    faces = [data.astronaut()]
    utk = sorted((SHARED / "utkface").glob("3[0-9]_*.jpg"))[:1]
    if utk:
        from PIL import Image

        faces.append(np.asarray(Image.open(utk[0]).convert("RGB")))
    return faces


def _shipped_networks() -> list[str]:
    return [s.name for s in list_models() if s.neural and s.weights_status().available]


def test_auto_uses_bf16_only_where_the_cpu_has_it(precision, monkeypatch) -> None:
    cpu = torch.device("cpu")
    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: False)
    precision("auto")
    assert not devices.uses_cpu_bf16()
    with autocast_for(cpu):
        assert not torch.is_autocast_cpu_enabled() if hasattr(torch, "is_autocast_cpu_enabled") \
            else not torch.is_autocast_enabled("cpu")
    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: True)
    assert devices.uses_cpu_bf16()
    precision("fp32")
    assert not devices.uses_cpu_bf16()
    precision("bf16")
    assert devices.uses_cpu_bf16()
    with autocast_for(cpu):
        assert torch.get_autocast_dtype("cpu") == torch.bfloat16 and torch.is_autocast_enabled("cpu")
    with pytest.raises(InferenceError, match="CPU precision"):
        set_cpu_precision("fp8")


@pytest.mark.slow
@pytest.mark.parametrize(("index", "name"), list(enumerate(_shipped_networks())))
def test_bf16_output_matches_fp32_on_real_faces(index: int, name: str, precision) -> None:
    """One real face per network, taking turns (bf16 is emulated on CPUs without it: ~1 min a face)."""
    model = load_model(name, "cpu")
    pipeline = FacePipeline()
    faces = _real_faces()
    for rgb in [faces[index % len(faces)]]:
        analysis = pipeline.analyse(rgb)
        mask = mouth_nostril_mask(analysis.landmarks, rgb.shape[:2])
        case = pipeline.prepare(rgb, mask, model.spec.resolution, analysis)
        outputs = {}
        for mode in ("fp32", "bf16"):
            precision(mode)
            outputs[mode] = model.predict_batch(case.crop_image[None], case.crop_hole[None])[0].image
        hole = case.crop_hole
        assert not np.array_equal(outputs["fp32"], outputs["bf16"])  # bf16 really ran
        assert _psnr(outputs["fp32"][hole], outputs["bf16"][hole]) >= 40.0
