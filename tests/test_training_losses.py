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
