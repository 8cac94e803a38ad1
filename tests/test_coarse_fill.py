"""The harmonic coarse fill: exact on known pixels, exact on harmonic images, safe on degenerate masks."""

import numpy as np
import torch

from inference.models.coarse_fill import harmonic_fill
from inference.models.registry import load_model


def _hole(size: int, box: tuple[int, int, int, int]) -> torch.Tensor:
    hole = torch.zeros(1, 1, size, size)
    y0, y1, x0, x1 = box
    hole[..., y0:y1, x0:x1] = 1
    return hole


def test_known_pixels_are_returned_unchanged():
    torch.manual_seed(0)
    image, hole = torch.rand(2, 3, 64, 64), (torch.rand(2, 1, 64, 64) > 0.6).float()
    filled = harmonic_fill(image, hole)
    assert torch.equal(filled * (1 - hole), image * (1 - hole))


def test_a_linear_ramp_is_filled_with_the_ramp():
    """A linear function is harmonic, so the solver must reproduce it inside the hole."""
    y, x = torch.meshgrid(torch.linspace(0, 1, 128), torch.linspace(0, 1, 128), indexing="ij")
    ramp = (0.2 + 0.5 * x + 0.2 * y).expand(1, 3, 128, 128)
    hole = _hole(128, (40, 90, 30, 100))
    filled = harmonic_fill(ramp, hole)
    inside = hole.bool().expand_as(ramp)
    assert (filled - ramp)[inside].abs().max() < 0.01
    zero_fill_error = ramp[inside].abs().mean()
    assert (filled - ramp)[inside].abs().mean() < 0.01 * zero_fill_error


def test_fill_stays_within_the_border_values_and_is_smooth():
    """Maximum principle: a harmonic fill never leaves the range of its boundary values."""
    torch.manual_seed(1)
    image = 0.3 + 0.4 * torch.rand(1, 3, 96, 96)
    hole = _hole(96, (20, 70, 10, 80))
    filled = harmonic_fill(image, hole)
    inside = filled[..., 21:69, 11:79]
    assert inside.min() >= 0.3 - 1e-4 and inside.max() <= 0.7 + 1e-4
    assert inside.diff(dim=-1).abs().max() < 0.05


def test_all_hole_image_is_grey_and_odd_sizes_work():
    assert torch.allclose(harmonic_fill(torch.rand(1, 3, 33, 47), torch.ones(1, 1, 33, 47)), torch.tensor(0.5))
    assert harmonic_fill(torch.rand(2, 3, 67, 45), (torch.rand(2, 1, 67, 45) > 0.5).float()).shape == (2, 3, 67, 45)


def test_fill_is_float32_under_bf16_autocast():
    image, hole = torch.rand(1, 3, 64, 64), _hole(64, (10, 40, 10, 40))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        filled = harmonic_fill(image, hole)
    assert filled.dtype == torch.float32
    assert torch.allclose(filled, harmonic_fill(image, hole))


def test_registered_baseline_fills_only_the_hole():
    model = load_model("harmonic-fill", "cpu")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2, 256, 256, 3), dtype=np.uint8)
    holes = np.zeros((2, 256, 256), bool)
    holes[:, 100:150, 80:180] = True
    for image, hole, prediction in zip(images, holes, model.predict_batch(images, holes)):
        assert np.array_equal(prediction.image[~hole], image[~hole])
        assert prediction.image[hole].std() < image[hole].std()  # smooth, not noise
