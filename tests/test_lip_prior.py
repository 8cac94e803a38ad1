"""The lip prior: thin-plate warps that land landmarks where asked, a seamless fade, and the template build."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inference.models.lip_prior import LipPrior, border_fade, tps_map, warp


def _grid_points(n: int = 68, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).uniform(0.2, 0.8, (1, n, 2)).astype(np.float32))


def test_tps_interpolates_its_control_points_and_reproduces_an_affine_map() -> None:
    control = _grid_points()
    affine = torch.tensor([[1.1, 0.2], [-0.1, 0.9]])
    values = control @ affine + torch.tensor([0.05, -0.03])
    probe = torch.rand(1, 50, 2)
    assert torch.allclose(tps_map(control, values, control), values, atol=1e-3)
    assert torch.allclose(tps_map(control, values, probe), probe @ affine + torch.tensor([0.05, -0.03]), atol=1e-3)


def test_tps_with_coincident_points_does_not_fail() -> None:
    control = torch.full((2, 68, 2), 0.5)
    out = tps_map(control, _grid_points().expand(2, -1, -1), torch.rand(2, 10, 2))
    assert torch.isfinite(out).all()


def test_warp_moves_a_dot_with_its_landmarks() -> None:
    size = 64
    source_points = _grid_points()
    image = torch.zeros(1, 1, size, size)
    x, y = (source_points[0, 10] * size).long().tolist()
    image[0, 0, y, x] = 1.0
    shift = torch.tensor([6 / size, -4 / size])
    moved = warp(image, source_points, source_points + shift, size)
    peak = int(moved.flatten().argmax())
    assert abs(peak % size - (x + 6)) <= 1 and abs(peak // size - (y - 4)) <= 1


def test_border_fade_is_zero_at_and_outside_the_border_and_one_deep_inside() -> None:
    hole = torch.zeros(1, 1, 64, 64)
    hole[..., 10:50, 10:50] = 1
    fade = border_fade(hole)
    assert fade[..., :10, :].abs().max() == 0 and fade[..., 10, 10:50].max() <= 0.2
    assert torch.all(fade[..., 20:40, 20:40] == 1)


def test_an_empty_template_adds_nothing() -> None:
    prior = LipPrior(size=32)
    base = torch.rand(2, 3, 32, 32) * 0.8 + 0.1
    hole = torch.ones(2, 1, 32, 32)
    out = prior(base, hole, _grid_points().expand(2, -1, -1))
    assert torch.allclose(torch.sigmoid(out), base, atol=1e-5)


def test_the_gain_scales_the_added_detail_by_how_much_of_the_template_the_hole_covers() -> None:
    """A hole over the whole template gets the full gain; a small wedge almost none; outside the hole nothing."""
    torch.manual_seed(0)
    landmarks = _grid_points().expand(2, -1, -1)
    base = torch.rand(2, 3, 32, 32) * 0.8 + 0.1
    plain, strong = LipPrior(size=32), LipPrior(size=32, gain=2.0)
    template = torch.randn(1, 3, 32, 32)
    plain.template.copy_(template)
    strong.template.copy_(template)
    base_logit = torch.logit(base.clamp(1e-3, 1 - 1e-3))

    whole = torch.ones(2, 1, 32, 32)
    added_plain = plain(base, whole, landmarks) - base_logit
    assert added_plain.abs().max() > 0.1
    assert torch.allclose(strong(base, whole, landmarks) - base_logit, 2.0 * added_plain, atol=1e-5)

    wedge = torch.zeros(2, 1, 32, 32)
    wedge[..., 12:20, 14:18] = 1
    small = strong.effective_gain(strong.detail(landmarks, 32)[0], wedge)
    assert torch.all(small > 1.0) and torch.all(small < 1.1)
    added = strong(base, wedge, landmarks) - base_logit
    assert added[..., :12, :].abs().max() == 0  # outside the hole nothing changes at any gain
    assert torch.allclose(added, small * (plain(base, wedge, landmarks) - base_logit), atol=1e-5)

    assert torch.all(plain.effective_gain(plain.detail(landmarks, 32)[0], wedge) == 1.0)
    assert "gain" not in dict(strong.named_buffers())  # a constructor argument: the model card records it
    with pytest.raises(ValueError, match="gain"):
        LipPrior(gain=-1.0)


def test_a_nostril_is_drawn_only_where_the_hole_hides_most_of_it() -> None:
    """Each side's patch is added in full when the hole hides it, not at all when half of it is visible."""
    prior = LipPrior(size=32)
    prior.nostrils[0, :3, 10:14, 8:12] = -2.0     # photo-left patch
    prior.nostrils[0, 3:, 10:14, 20:24] = -2.0    # photo-right patch
    identity = prior.reference.clone()
    identity[0, :, 0] = torch.linspace(0.1, 0.9, 68)
    identity[0, :, 1] = torch.linspace(0.2, 0.8, 68).roll(7)
    prior.reference.copy_(identity)
    base = torch.full((1, 3, 32, 32), 0.6)
    base_logit = torch.logit(base)

    left_only = torch.zeros(1, 1, 32, 32)
    left_only[..., 4:20, 2:16] = 1                 # hides all of the left patch, none of the right
    cover = prior.nostril_cover(prior.detail(identity, 32)[1], left_only)
    assert cover.flatten().tolist() == [1.0, 0.0]
    added = prior(base, left_only, identity) - base_logit
    assert added[..., 10:14, 8:12].mean() < -1.0 and added[..., 10:14, 20:24].abs().max() == 0

    half = torch.zeros(1, 1, 32, 32)
    half[..., 12:20, 2:30] = 1                     # the lower half of both patches: both are seen, neither drawn
    assert prior.nostril_cover(prior.detail(identity, 32)[1], half).abs().max() == 0
    assert (prior(base, half, identity) - base_logit).abs().max() < 1e-5


def test_a_greyscale_photo_gets_a_grey_lip_and_a_colour_photo_keeps_its_colour() -> None:
    from inference.models.nclg_mt import NCLGMTGenerator

    prior = LipPrior(size=32)
    hole = torch.ones(1, 1, 32, 32)
    grey = torch.full((1, 3, 32, 32), 0.5)
    skin = torch.tensor([0.75, 0.55, 0.45]).view(1, 3, 1, 1).expand(1, 3, 32, 32)  # spread 0.3: full colour
    assert prior.colour_share(skin, hole).item() == 1.0 and prior.colour_share(grey, hole).item() == 0.0
    logit = torch.logit(grey) + torch.randn(1, 3, 32, 32)       # a pink template and a green correction, say
    kept = prior.keep_colour(logit, grey, hole)
    assert torch.allclose(kept, kept.mean(1, keepdim=True).expand_as(kept), atol=1e-6)   # grey
    assert torch.allclose(kept.mean(1), logit.mean(1), atol=1e-6)                       # same brightness
    coloured = torch.logit(skin) + torch.randn(1, 3, 32, 32)
    assert torch.allclose(prior.keep_colour(coloured, skin, hole), coloured, atol=1e-5)  # unchanged

    torch.manual_seed(0)
    network = NCLGMTGenerator(width=0.125, residual_blocks=1, coarse_fill="lip_prior").eval()
    network.prior.template.copy_(torch.randn(1, 3, 256, 256))
    photo = torch.rand(1, 1, 256, 256).expand(1, 3, 256, 256).clone()   # a greyscale photo
    mouth = torch.zeros(1, 1, 256, 256)
    mouth[..., 150:210, 80:180] = 1
    with torch.no_grad():
        out, _ = network(photo, mouth)
    assert (out.amax(1) - out.amin(1)).max() < 1e-5                      # the whole output stays grey


def test_weights_made_before_the_nostril_patches_still_load_and_add_none() -> None:
    old = {k: v for k, v in LipPrior(size=32).state_dict().items() if k != "nostrils"}
    old["template"] = torch.randn(1, 3, 32, 32)
    prior = LipPrior(size=32)
    prior.load_state_dict(old, strict=True)
    assert torch.equal(prior.template, old["template"]) and prior.nostrils.abs().max() == 0


def test_a_gain_without_a_lip_prior_is_refused() -> None:
    from inference.models.nclg_mt import NCLGMTGenerator

    with pytest.raises(ValueError, match="prior_gain"):
        NCLGMTGenerator(width=0.125, residual_blocks=1, coarse_fill="harmonic", prior_gain=1.5)
    assert NCLGMTGenerator(width=0.125, residual_blocks=1, coarse_fill="lip_prior", prior_gain=1.5).prior.gain == 1.5


def test_template_built_from_training_faces_is_a_symmetric_lip(tmp_path) -> None:
    from test_training_support import mini_setup
    from training.lip_prior import build_lip_prior, load_lip_prior

    faces, cache, _ = mini_setup(tmp_path)
    summary = build_lip_prior(cache, tmp_path / "prior.safetensors", limit=8, batch=4, progress=False)
    assert summary["faces"] >= 1 and summary["with_mirrors"] == 2 * summary["faces"]
    prior = load_lip_prior(tmp_path / "prior.safetensors")
    template, reference = prior["template"], prior["reference"]
    assert template.shape == (1, 3, 256, 256) and reference.shape == (1, 68, 2)
    assert template.abs().sum() > 0
    assert template[..., :40, :].abs().max() == 0  # nothing above the nose: the support is the lower face
    # mirror images are averaged in: the mean shape is symmetric about its own centre line
    assert abs(float(reference[0, 30, 0] + reference[0, 8, 0]) / 2 - 0.5) < 0.02
    LipPrior().load_state_dict(prior)


def test_missing_template_is_a_clear_error(tmp_path) -> None:
    from training.errors import DataError
    from training.lip_prior import load_lip_prior

    with pytest.raises(DataError, match="lip-prior"):
        load_lip_prior(tmp_path / "none.safetensors")


def _nostril_setup(tmp_path):
    from test_training_support import mini_setup
    from training.data.dataset import FaceCropSet
    from training.lip_prior import build_lip_prior, load_lip_prior

    _, cache, _ = mini_setup(tmp_path)
    build_lip_prior(cache, tmp_path / "prior.safetensors", limit=8, batch=4, progress=False)
    return cache, FaceCropSet(cache, "train"), load_lip_prior(tmp_path / "prior.safetensors")


def test_sharpened_nostrils_are_two_dark_patches_one_per_side(tmp_path) -> None:
    from training.lip_prior import NOSTRIL_PATCH_RADIUS, sharpen_nostrils

    _, faces, prior = _nostril_setup(tmp_path)
    template, reference = prior["template"], prior["reference"]
    nostrils, summary = sharpen_nostrils(template, reference, faces, limit=8, gain=1.5, batch=4, progress=False)
    sides = summary["nostrils"]
    assert list(sides) == ["photo-left", "photo-right"] and summary["with_mirrors"] == 2 * summary["faces"]
    assert nostrils.shape == (1, 6, 256, 256)
    yy, xx = torch.meshgrid(torch.arange(256), torch.arange(256), indexing="ij")
    for channel, side in enumerate(sides.values()):
        patch = nostrils[0, 3 * channel:3 * channel + 3]
        cx, cy = side["centre_px"]
        near = (yy - cy) ** 2 + (xx - cx) ** 2 <= NOSTRIL_PATCH_RADIUS ** 2
        assert patch.abs().amax(0)[~near].max() == 0 and patch.abs().max() > 0   # only its own disc
        assert patch[:, cy, cx].mean() < 0                 # darker than the mean template there: a nostril
        assert side["median_depth_logit"] > 0
    (lx, ly), (rx, ry) = sides["photo-left"]["centre_px"], sides["photo-right"]["centre_px"]
    midline = float(reference[0, 33, 0]) * 256
    assert lx < midline < rx and abs(ly - ry) <= 1  # one on each side of the columella, level (mirrors averaged in)
    # the gain scales the patches exactly
    double, _ = sharpen_nostrils(template, reference, faces, limit=8, gain=3.0, batch=4, progress=False)
    assert torch.allclose(double, 2 * nostrils, atol=1e-5)
    with pytest.raises(ValueError, match="gain"):
        sharpen_nostrils(template, reference, faces, limit=8, gain=0.0, progress=False)


def test_an_exported_network_gets_its_nostrils_once_and_keeps_everything_else(tmp_path) -> None:
    from inference.checkpoints import load_checkpoint, save_checkpoint
    from inference.models.nclg_mt import NCLGMTGenerator
    from training.errors import TrainingError
    from training.export import sharpen_exported_nostrils

    cache, _, prior = _nostril_setup(tmp_path)
    kwargs = {"width": 0.125, "coarse_fill": "lip_prior", "landmark_head": "heatmap", "landmark_sigma": 1.5,
              "prior_gain": 2.0}
    network = NCLGMTGenerator(**kwargs)
    network.prior.load_state_dict(prior)
    card = {"name": "nclg-mt-lite", "resolution": 256, "training": {"steps": 1},
            "architecture": {"class": "NCLGMTGenerator", "module": "inference.models.nclg_mt", "kwargs": kwargs},
            "evaluation": {"models": {"old": {}}}}
    save_checkpoint(network, tmp_path / "shipped", card)

    out = sharpen_exported_nostrils(tmp_path / "shipped", cache, None, out=tmp_path / "sharp", limit=8, gain=1.2)
    before, _ = load_checkpoint(tmp_path / "shipped")
    after, new_card = load_checkpoint(out)  # the card's sha256 matches the rewritten weights
    assert [k for k in after if k not in before or not torch.equal(before[k], after[k])] == ["prior.nostrils"]
    record = new_card["training"]["lip_prior_nostrils"]
    assert record["gain"] == 1.2 and record["subset"] == "all ages (train split)"
    assert new_card["evaluation"] == {}  # the old evaluation measured other outputs
    assert new_card["architecture"]["kwargs"] == kwargs
    with pytest.raises(TrainingError, match="already has its nostrils"):
        sharpen_exported_nostrils(out, cache, None, limit=8)

    plain = NCLGMTGenerator(width=0.125, coarse_fill="harmonic")
    save_checkpoint(plain, tmp_path / "plain", {**card, "architecture": {**card["architecture"],
                                                                         "kwargs": {"width": 0.125, "coarse_fill": "harmonic"}}})
    with pytest.raises(TrainingError, match="no lip-prior network"):
        sharpen_exported_nostrils(tmp_path / "plain", cache, None, limit=8)


def test_an_evaluation_can_be_embedded_again_without_touching_the_weights(tmp_path) -> None:
    import json

    from inference.checkpoints import load_checkpoint, save_checkpoint
    from inference.models.nclg_mt import NCLGMTGenerator
    from training.export import embed_evaluation

    kwargs = {"width": 0.125, "coarse_fill": "lip_prior"}
    card = {"name": "nclg-mt-lite", "resolution": 256, "training": {"steps": 1}, "evaluation": {"old": 1},
            "architecture": {"class": "NCLGMTGenerator", "module": "inference.models.nclg_mt", "kwargs": kwargs}}
    save_checkpoint(NCLGMTGenerator(**kwargs), tmp_path / "net", card)
    before = (tmp_path / "net" / "model.safetensors").read_bytes()
    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "evaluation.json").write_text(json.dumps({"models": {"nclg-mt-lite": {"new": 2}}}))
    (tmp_path / "eval" / "evaluation.md").write_text("| table |")
    embed_evaluation(tmp_path / "net", tmp_path / "eval" / "evaluation.json")
    _, new_card = load_checkpoint(tmp_path / "net")
    assert new_card["evaluation"] == {"models": {"nclg-mt-lite": {"new": 2}}, "table_markdown": "| table |"}
    assert (tmp_path / "net" / "model.safetensors").read_bytes() == before


def test_the_training_cli_reports_a_missing_exported_folder_without_a_traceback(tmp_path, capsys) -> None:
    from training.cli import main

    assert main(["card", str(tmp_path / "missing"), "--evaluation", str(tmp_path / "evaluation.json")]) == 2
    assert "No trained weights" in capsys.readouterr().err
