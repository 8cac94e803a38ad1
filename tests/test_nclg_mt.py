"""The landmark-guided multi-task network: shapes, gradients, landmark map, zero-initialised gates."""

import pytest
import torch

from inference.models.nclg_mt import NUM_LANDMARKS, NCLGMTGenerator, PatchDiscriminator, landmark_map


def naive_landmark_map(landmarks: torch.Tensor, size: int) -> torch.Tensor:
    """The published code's Python loop, kept here as the reference."""
    out = torch.zeros(landmarks.shape[0], landmarks.shape[1], size, size)
    for i in range(landmarks.shape[0]):
        for p in range(landmarks.shape[1]):
            x = min(max(int(landmarks[i, p, 0] * size), 0), size - 1)
            y = min(max(int(landmarks[i, p, 1] * size), 0), size - 1)
            out[i, p, y, x] = 1
    return out


def test_landmark_map_equals_naive_loop_including_edges():
    torch.manual_seed(0)
    lm = torch.rand(3, NUM_LANDMARKS, 2)
    lm[0, :4] = torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.999, 0.5]])
    assert torch.equal(landmark_map(lm, 128), naive_landmark_map(lm, 128))
    assert landmark_map(lm, 128).sum().item() == 3 * NUM_LANDMARKS


@pytest.mark.parametrize("width", [0.25, 1.0])
def test_generator_shapes_and_ranges(width):
    torch.manual_seed(0)
    net = NCLGMTGenerator(width=width).eval()
    image, hole = torch.rand(2, 3, 256, 256), torch.zeros(2, 1, 256, 256)
    hole[:, :, 150:200, 90:170] = 1
    with torch.no_grad():
        out, lm = net(image, hole)
    assert out.shape == (2, 3, 256, 256) and lm.shape == (2, NUM_LANDMARKS, 2)
    assert 0 <= out.min() and out.max() <= 1 and 0 <= lm.min() and lm.max() <= 1


def test_hole_content_does_not_leak_into_the_output():
    """The network must not see the pixels under the hole: changing them changes nothing."""
    torch.manual_seed(0)
    net = NCLGMTGenerator(width=0.25).eval()
    image, hole = torch.rand(1, 3, 256, 256), torch.zeros(1, 1, 256, 256)
    hole[..., 100:160, 100:160] = 1
    other = image.clone()
    other[..., 100:160, 100:160] = torch.rand(1, 3, 60, 60)
    with torch.no_grad():
        assert torch.allclose(net(image, hole)[0], net(other, hole)[0])


def test_gradients_reach_both_branches_and_the_discriminator():
    torch.manual_seed(0)
    net, disc = NCLGMTGenerator(width=0.25), PatchDiscriminator(width=0.25)
    image, hole = torch.rand(2, 3, 128, 128), torch.zeros(2, 1, 128, 128)
    hole[..., 40:90, 30:100] = 1
    out, lm = net(image, hole)
    loss = (out - image).abs().mean() + ((lm - 0.5) ** 2).mean() + disc(out).mean()
    loss.backward()
    assert net.enc1[1].conv.weight.grad.abs().sum() > 0          # shared encoder
    assert net.landmarks.fc.weight.grad.abs().sum() > 0          # landmark branch
    assert net.to_rgb[1].weight.grad.abs().sum() > 0             # image branch
    assert all(p.grad is not None for p in disc.parameters() if p.requires_grad and p.dim() > 1)


def test_learnable_gates_start_at_zero():
    net = NCLGMTGenerator(width=0.25)
    assert net.attention.gamma.item() == 0 and net.attention.alpha.item() == 0 and net.landmarks.gamma.item() == 0


def test_discriminator_features_end_with_patch_logits():
    feats = PatchDiscriminator(width=0.25).features(torch.rand(1, 3, 256, 256))
    assert len(feats) == 5 and feats[-1].shape == (1, 1, 30, 30)


def test_harmonic_variant_starts_as_the_harmonic_fill_and_hides_the_hole():
    from inference.models.coarse_fill import harmonic_fill

    torch.manual_seed(0)
    net = NCLGMTGenerator(width=0.25, coarse_fill="harmonic").eval()
    image, hole = torch.rand(1, 3, 128, 128), torch.zeros(1, 1, 128, 128)
    hole[..., 40:90, 30:100] = 1
    other = image.clone()
    other[..., 40:90, 30:100] = torch.rand(1, 3, 50, 70)
    with torch.no_grad():
        out, _ = net(image, hole)
        assert torch.allclose(out, net(other, hole)[0])
    assert (out - harmonic_fill(image, hole)).abs().max() < 2e-3  # the zero correction at initialisation
    with pytest.raises(ValueError, match="coarse_fill"):
        NCLGMTGenerator(width=0.25, coarse_fill="telea")


def test_harmonic_variant_trains_its_correction():
    torch.manual_seed(0)
    net = NCLGMTGenerator(width=0.25, coarse_fill="harmonic")
    image, hole = torch.rand(2, 3, 64, 64), torch.zeros(2, 1, 64, 64)
    hole[..., 20:40, 10:50] = 1
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(2):  # the zero output layer moves first, then gradients reach the encoder
        opt.zero_grad()
        out, _ = net(image, hole)
        ((out - image).abs() * hole).mean().backward()
        opt.step()
    assert net.to_rgb[1].weight.abs().sum() > 0 and net.enc1[1].conv.weight.grad.abs().sum() > 0


def _lip_prior_net() -> NCLGMTGenerator:
    """The shipped variant: heat-map landmark head, Gaussian feedback, lip prior with a visible template."""
    torch.manual_seed(0)
    net = NCLGMTGenerator(width=0.25, coarse_fill="lip_prior", landmark_head="heatmap", landmark_sigma=1.5).eval()
    reference = torch.rand(1, NUM_LANDMARKS, 2) * 0.4 + 0.3
    template = torch.zeros(1, 3, 256, 256)
    template[..., 150:200, 90:170] = 1.5  # a "lip" in the reference frame
    net.prior.load_state_dict({"template": template, "reference": reference})
    net.landmarks.mean_shape.copy_(reference[0])
    return net


def test_untrained_heatmap_head_answers_the_mean_shape():
    net = _lip_prior_net()
    image, hole = torch.rand(1, 3, 256, 256), torch.zeros(1, 1, 256, 256)
    hole[..., 150:200, 90:170] = 1
    with torch.no_grad():
        _, lm = net(image, hole)
    assert (lm[0] - net.landmarks.mean_shape).abs().max() < 0.05


def test_encode_predict_render_equals_forward_and_guides_change_only_the_hole():
    net = _lip_prior_net()
    image, hole = torch.rand(1, 3, 256, 256), torch.zeros(1, 1, 256, 256)
    hole[..., 140:210, 80:180] = 1
    with torch.no_grad():
        out, lm = net(image, hole)
        enc = net.encode(image, hole)
        predicted, f1 = net.predict_landmarks(enc)
        assert torch.allclose(net.render(enc, f1, predicted), out) and torch.allclose(predicted, lm)
        moved = lm + torch.tensor([0.0, 0.06])
        steered, lm_again = net(image, hole, moved)
        nan_rows, _ = net(image, hole, torch.full_like(lm, float("nan")))
    assert torch.allclose(lm_again, lm)                      # the prediction is returned either way
    assert torch.allclose(nan_rows, out)                     # NaN guide rows keep the prediction
    assert (steered - out).abs().amax() > 1e-3              # the guide changes the picture
    comp = steered * hole + image * (1 - hole)
    assert torch.equal(comp[..., :140, :], image[..., :140, :])


def test_the_prior_draws_the_template_where_the_landmarks_say():
    """A zero correction: the output inside the hole is the membrane fill plus the warped template."""
    net = _lip_prior_net()
    image, hole = torch.full((1, 3, 256, 256), 0.5), torch.zeros(1, 1, 256, 256)
    hole[..., 120:230, 60:200] = 1
    with torch.no_grad():
        out, _ = net(image, hole, net.prior.reference.clone())
        lower, _ = net(image, hole, net.prior.reference + torch.tensor([0.0, 0.04]))
    rows = out[0, 0, :, 130].numpy()
    assert rows[175] > 0.7 and abs(rows[125] - 0.5) < 0.05  # the lip is drawn at the reference position
    moved_rows = lower[0, 0, :, 130].numpy()
    assert moved_rows[205] > 0.7 > rows[205]                # ... and follows landmarks moved down by 10 px


def test_old_cards_without_the_new_arguments_still_build():
    net = NCLGMTGenerator(width=0.25, coarse_fill="harmonic")
    assert net.prior is None and not any(k.startswith("prior.") for k in net.state_dict())
    with pytest.raises(ValueError, match="landmark_head"):
        NCLGMTGenerator(width=0.25, landmark_head="nope")
