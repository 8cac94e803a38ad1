"""The two L1 reconstruction modes: the paper's (LaFIn) and the hole-weighted one."""

import pytest
import torch

from training.losses import l1_reconstruction


def _case():
    target = torch.zeros(1, 3, 8, 8)
    output = torch.zeros(1, 3, 8, 8)
    hole = torch.zeros(1, 1, 8, 8)
    hole[..., :2, :] = 1          # a quarter of the image is hole
    output[..., :2, :] = 0.4      # error 0.4 inside the hole
    output[..., 2:, :] = 0.1      # error 0.1 on the known pixels
    return output, target, hole


def test_lafin_mode_is_whole_image_l1_over_hole_fraction():
    output, target, hole = _case()
    expected = (0.25 * 0.4 + 0.75 * 0.1) / 0.25
    assert l1_reconstruction(output, target, hole).item() == pytest.approx(expected)


def test_hole_mode_weights_known_pixels_down():
    output, target, hole = _case()
    assert l1_reconstruction(output, target, hole, "hole", 0.2).item() == pytest.approx(0.4 + 0.2 * 0.1)
    assert l1_reconstruction(output, target, hole, "hole", 0.0).item() == pytest.approx(0.4)


def test_unknown_mode_is_refused():
    output, target, hole = _case()
    with pytest.raises(ValueError, match="l1_mode"):
        l1_reconstruction(output, target, hole, "l2")


def test_hole_aware_hinge_counts_only_patches_over_the_hole():
    import torch
    from training import losses as L
    logits = torch.zeros(1, 1, 4, 4)
    logits[..., :2, :] = -5.0          # the discriminator calls the top half fake ...
    hole = torch.zeros(1, 1, 32, 32)
    hole[..., 16:, :] = 1.0            # ... but the hole is the bottom half
    weight = L.hole_patch_weight(hole, logits)
    assert weight.shape == logits.shape
    assert float(L.g_hinge(logits, weight)) == 0.0          # only hole patches count
    assert float(L.g_hinge(logits)) == 2.5                  # the whole-image mean is diluted by the rest
    assert float(L.d_hinge(torch.ones_like(logits), logits, weight)) == 1.0


def test_unknown_loss_mode_is_refused():
    import pytest
    from training.config import config_from_dict
    from training.errors import ConfigError
    with pytest.raises(ConfigError, match="adversarial_mode"):
        config_from_dict({"name": "x", "loss": {"adversarial_mode": "holes"}})


def _synthetic_landmarks() -> torch.Tensor:
    """68 points (normalised) with the jaw ends at x 0.1 / 0.9 and the outer lip a ring at (0.5, 0.75)."""
    import math

    points = torch.full((68, 2), 0.5)
    points[0], points[16] = torch.tensor([0.1, 0.5]), torch.tensor([0.9, 0.5])
    for i, k in enumerate(range(48, 60)):
        angle = 2 * math.pi * i / 12
        points[k] = torch.tensor([0.5 + 0.12 * math.cos(angle), 0.75 + 0.05 * math.sin(angle)])
    return points[None]


def test_mouth_region_is_the_outer_lip_grown_by_four_percent_of_the_face():
    from training.losses import mouth_region

    region = mouth_region(_synthetic_landmarks(), (100, 100))[0, 0]
    assert region.shape == (100, 100) and region.dtype == torch.float32
    assert region[75, 50] == 1 and region[75, 62 + 2] == 1      # the centre, and the corner's 3.2 px margin
    assert region[75, 62 + 6] == 0 and region[40, 50] == 0      # beyond the margin; the nose
    assert region[75, 50 - 12 - 2] == 1 and region[75, 50 - 12 - 6] == 0


def test_region_l1_is_the_mean_error_inside_the_region_only():
    from training.losses import region_l1

    target = torch.zeros(1, 3, 8, 8)
    output = torch.full((1, 3, 8, 8), 0.3)
    output[..., 4:, :] = 0.9
    region = torch.zeros(1, 1, 8, 8)
    region[..., :4, :] = 1
    assert region_l1(output, target, region).item() == pytest.approx(0.3)
    assert region_l1(output, target, torch.zeros_like(region)).item() == 0.0


def test_gradient_l1_asks_for_the_truths_edge_not_its_average_colour():
    from training.losses import gradient_l1

    edge = torch.zeros(1, 3, 16, 16)
    edge[..., 8:, :] = 1.0                               # a sharp mouth line
    blurred = torch.nn.functional.avg_pool2d(edge, 5, 1, 2, count_include_pad=False)
    shifted = edge + 0.2                                 # a different colour, the same edge
    hole = torch.ones(1, 1, 16, 16)
    assert gradient_l1(edge, edge, hole).item() == 0.0
    assert gradient_l1(shifted, edge, hole).item() == pytest.approx(0.0, abs=1e-6)
    assert gradient_l1(blurred, edge, hole).item() > 0.05
    outside = torch.zeros_like(hole)
    outside[..., :2, :] = 1                               # far from the edge: nothing to match there
    assert gradient_l1(blurred, edge, outside).item() == 0.0


def test_encoder_perceptual_compares_our_own_encoders_features():
    from inference.models.nclg_mt import NCLGMTGenerator
    from training.losses import encoder_perceptual

    torch.manual_seed(0)
    encoder = NCLGMTGenerator(width=0.125).eval().requires_grad_(False)
    real = torch.rand(2, 3, 64, 64)
    blurred = torch.nn.functional.avg_pool2d(real, 5, 1, 2).requires_grad_(True)
    assert encoder_perceptual(encoder, real, real).item() == 0.0
    loss = encoder_perceptual(encoder, blurred, real)
    assert loss.item() > 0
    loss.backward()
    assert blurred.grad is not None and blurred.grad.abs().sum() > 0      # it trains the picture
    assert all(p.grad is None for p in encoder.parameters())              # and leaves the encoder alone


def test_detail_energy_gap_asks_for_the_truths_detail_not_its_place():
    from training.losses import detail_energy_gap

    dots = torch.zeros(1, 3, 16, 16)
    dots[..., 6:8, 4:6] = 1.0                            # two nostrils
    dots[..., 6:8, 10:12] = 1.0
    moved = torch.roll(dots, shifts=1, dims=-1)          # the same nostrils a pixel off
    blurred = torch.nn.functional.avg_pool2d(dots, 5, 1, 2, count_include_pad=False)
    region = torch.ones(1, 1, 16, 16)
    assert detail_energy_gap(moved, dots, region).item() == pytest.approx(0.0, abs=1e-6)
    assert detail_energy_gap(blurred, dots, region).item() > 0.02
    assert detail_energy_gap(blurred, dots, torch.zeros_like(region)).item() == 0.0


def test_nose_region_covers_the_nostril_sill_and_the_philtrum_not_the_eyes():
    from test_training_structure import synthetic_landmarks

    from training.losses import nose_region

    points = synthetic_landmarks()                      # a frontal face in a 256 crop
    region = nose_region(torch.from_numpy(points / 256)[None], (256, 256))[0, 0]
    for index in (31, 33, 35, 51):                      # alar bases, subnasale, Cupid's bow
        x, y = points[index].round().astype(int)
        assert region[y, x] == 1
    for index in (36, 45, 8):                           # eye corners, chin
        x, y = points[index].round().astype(int)
        assert region[y, x] == 0
