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
