"""The comparison networks (EdgeConnect, LaFIn, CTSDG): partial convolution by hand, shapes, no peeking into
the hole, the pipeline's compositing contract, and a few CPU training steps that lower each model's loss."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from inference.models.ctsdg import CTSDG
from inference.models.edgeconnect import EdgeConnect, canny_edges, canny_numpy, count_parameters, to_gray
from inference.models.lafin import LaFIn, landmark_point_map
from inference.models.partial_conv import PartialConv2d
from training.comparison import build
from training.errors import ConfigError

SIZE, WIDTH = 64, 0.125
NETWORKS = {"edgeconnect": EdgeConnect, "lafin": LaFIn, "ctsdg": CTSDG}


@pytest.fixture(autouse=True)
def _few_threads():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def face_batch(n: int = 2, size: int = SIZE) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A smooth skin-like gradient with a red "mouth" ellipse half under a rectangular hole; fixed noise."""
    g = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    image = torch.stack([0.55 + 0.3 * xx, 0.4 + 0.2 * yy, 0.35 + 0.1 * xx * yy]).expand(n, 3, size, size).clone()
    mouth = ((xx - 0.5) / 0.25) ** 2 + ((yy - 0.65) / 0.1) ** 2 < 1
    image[:, 0][:, mouth], image[:, 1][:, mouth], image[:, 2][:, mouth] = 0.8, 0.25, 0.3
    image = (image + 0.03 * torch.rand(n, 3, size, size, generator=g)).clamp(0, 1)
    hole = torch.zeros(n, 1, size, size)
    hole[..., size // 2:size * 3 // 4, size // 4:size * 3 // 4] = 1
    landmarks = 0.2 + 0.6 * torch.rand(n, 68, 2, generator=g)
    return image, hole, landmarks


# ---- partial convolution ----------------------------------------------------------------------

def _pconv(in_ch: int, multi_channel: bool = False) -> PartialConv2d:
    conv = PartialConv2d(in_ch, 1, 3, padding=1, multi_channel=multi_channel)
    with torch.no_grad():
        conv.conv.weight.fill_(1.0)
        conv.bias.fill_(0.5)
    return conv


X = torch.arange(1.0, 10.0).view(1, 1, 3, 3)          # [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
M = torch.tensor([[1.0, 1, 0], [1, 0, 0], [0, 0, 0]]).view(1, 1, 3, 3)   # valid: 1, 2 and 4


def test_partial_conv_matches_a_hand_computed_example():
    """Ones kernel 3x3, bias 0.5, zero padding (padding counts as invalid).

    (0,0), (0,1), (1,0), (1,1) see all of 1, 2, 4: 7 * 9/3 + 0.5 = 21.5; (0,2), (1,2) see only 2:
    2 * 9/1 + 0.5 = 18.5; (2,0), (2,1) see only 4: 4 * 9 + 0.5 = 36.5; (2,2) sees no valid pixel: 0,
    and its mask stays a hole.
    """
    out, new_mask = _pconv(1)(X, M)
    assert torch.equal(out[0, 0], torch.tensor([[21.5, 21.5, 18.5], [21.5, 21.5, 18.5], [36.5, 36.5, 0.0]]))
    assert torch.equal(new_mask[0, 0], torch.tensor([[1.0, 1, 1], [1, 1, 1], [1, 1, 0]]))


def test_partial_conv_scales_by_window_over_valid_elements_across_channels():
    """Two channels (x and 10x), one shared mask: sum(1) = 18, sum(M) = 2 * valid pixels.

    (0,0): (1 + 2 + 4) * 11 * 18/6 + 0.5 = 231.5. With a second mask channel that is all valid, (2,2)
    sees channel 2's four in-image pixels 50, 60, 80, 90: 280 * 18/4 + 0.5 = 1260.5, and becomes valid.
    """
    x = torch.cat([X, 10 * X], dim=1)
    out, new_mask = _pconv(2)(x, M)
    assert out[0, 0, 0, 0].item() == 231.5 and out[0, 0, 2, 2].item() == 0.0 and new_mask[0, 0, 2, 2].item() == 0.0
    out, new_mask = _pconv(2, multi_channel=True)(x, torch.cat([M, torch.ones_like(M)], dim=1))
    assert out[0, 0, 2, 2].item() == 1260.5 and new_mask[0, 0, 2, 2].item() == 1.0
    # (0,0): channel 1 gives 7 from 3 valid, channel 2 gives 10 * (1 + 2 + 4 + 5) = 120 from 4: 127 * 18/7 + 0.5
    assert out[0, 0, 0, 0].item() == pytest.approx(127 * 18 / 7 + 0.5)


def test_partial_conv_without_holes_is_the_plain_convolution_inside_the_image():
    torch.manual_seed(0)
    conv = PartialConv2d(3, 4, 3, padding=1)
    x = torch.rand(1, 3, 8, 8)
    out, new_mask = conv(x, torch.ones(1, 1, 8, 8))
    plain = torch.nn.functional.conv2d(x, conv.conv.weight, conv.bias, padding=1)
    assert torch.allclose(out[..., 1:-1, 1:-1], plain[..., 1:-1, 1:-1], atol=1e-6)
    assert torch.equal(new_mask, torch.ones(1, 1, 8, 8))


# ---- edges and landmark map ---------------------------------------------------------------------

def test_canny_sees_only_visible_pixels_and_finds_a_step():
    gray = torch.zeros(1, 1, SIZE, SIZE)
    gray[..., :, SIZE // 2:] = 1.0
    edges = canny_edges(gray)
    assert edges[0, 0, 10:-10, SIZE // 2 - 2:SIZE // 2 + 2].sum(dim=1).min() >= 1   # every row crosses the step
    assert edges[0, 0, :, :SIZE // 2 - 4].sum() == 0 and edges[0, 0, :, SIZE // 2 + 4:].sum() == 0
    known = torch.ones_like(gray)
    known[..., 20:44, 20:44] = 0
    other = gray.clone()
    other[..., 20:44, 20:44] = torch.rand(24, 24)
    assert torch.equal(canny_edges(gray, known), canny_edges(other, known))
    assert canny_edges(other, known)[..., 19:45, 19:45].sum() == 0     # nothing in the hole or on its rim


def test_canny_agrees_with_scikit_image_within_a_pixel():
    feature = pytest.importorskip("skimage.feature")
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    gray = (0.3 + 0.5 * (((xx - 30) ** 2 + (yy - 34) ** 2) < 15 ** 2) + 0.002 * xx).astype(np.float64)
    ours = canny_numpy(gray) > 0
    theirs = feature.canny(gray, sigma=2)
    import cv2
    near = cv2.dilate(theirs.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    assert ours.sum() > 40 and near[ours].mean() > 0.95
    assert abs(int(ours.sum()) - int(theirs.sum())) < 0.1 * theirs.sum()


def test_landmark_point_map_marks_each_point_once():
    lm = torch.tensor([[[0.0, 0.0], [0.999, 0.5], [0.5, 0.5]]])
    m = landmark_point_map(lm, 8, 8)
    assert m.shape == (1, 1, 8, 8) and m.sum() == 3 and m[0, 0, 0, 0] == 1 and m[0, 0, 4, 7] == 1
    g = landmark_point_map(lm, 8, 8, sigma=1.0)
    assert g.max() <= 1 and g[0, 0, 4, 4] > 0.5


# ---- networks ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NETWORKS)
def test_shapes_ranges_and_the_hole_stays_unseen(name):
    torch.manual_seed(0)
    net = NETWORKS[name](width=WIDTH).eval()
    image, hole, _ = face_batch()
    other = image.clone()
    other[hole.expand_as(image) > 0] = torch.rand(int(hole.sum().item()) * 3)
    with torch.no_grad():
        rgb, landmarks = net(image, hole)
        rgb_other, _ = net(other, hole)
    assert rgb.shape == image.shape and 0 <= rgb.min() and rgb.max() <= 1
    assert (landmarks is None) == (name != "lafin")
    if landmarks is not None:
        assert landmarks.shape == (2, 68, 2) and 0 <= landmarks.min() and landmarks.max() <= 1
    assert torch.allclose(rgb, rgb_other, atol=1e-6)     # nothing under the hole reaches the output


@pytest.mark.parametrize("name", NETWORKS)
def test_known_pixels_come_back_unchanged_through_the_app_path(name):
    """The base model the registry wraps networks in composites the known pixels back, as the pipeline does."""
    from inference.models.base import TorchInpaintModel

    torch.manual_seed(0)
    spec = SimpleNamespace(resolution=SIZE, display_name=name)
    model = TorchInpaintModel(spec, torch.device("cpu"), NETWORKS[name](width=WIDTH))
    image, hole, _ = face_batch()
    images = (image.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
    holes = hole[:, 0].numpy() > 0
    predictions = model.predict_batch(images, holes)
    for pred, original, h in zip(predictions, images, holes):
        assert pred.image.dtype == np.uint8 and pred.image.shape == original.shape
        assert np.array_equal(pred.image[~h], original[~h])
        assert not np.array_equal(pred.image[h], original[h])
    assert model.accepts_landmarks == (name == "lafin")


def test_lafin_draws_from_given_landmarks_and_nan_keeps_its_own():
    torch.manual_seed(0)
    net = LaFIn(width=WIDTH).eval()
    image, hole, lm = face_batch()
    with torch.no_grad():
        own, predicted = net(image, hole)
        kept, _ = net(image, hole, torch.full_like(lm, float("nan")))
        steered, predicted_again = net(image, hole, lm)
    assert torch.equal(own, kept) and torch.equal(predicted, predicted_again)
    assert not torch.allclose(own, steered)


def test_edgeconnect_generators_have_the_papers_size():
    net = EdgeConnect(width=1.0)
    assert count_parameters(net.edge) == pytest.approx(10.8e6, rel=0.01)
    assert count_parameters(net.inpaint) == pytest.approx(10.8e6, rel=0.01)


# ---- training ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NETWORKS)
def test_a_few_cpu_steps_lower_the_loss(name):
    torch.manual_seed(0)
    _, step = build(name, WIDTH)
    batch = face_batch()
    history = [step(batch) for _ in range(5)]
    for key in ("reconstruction", "g_total"):
        values = [h[key] for h in history]
        assert np.mean(values[-2:]) < values[0], (key, values)
    assert all(np.isfinite(h["d_loss"]) for h in history)
    if name == "lafin":
        assert np.mean([h["landmark"] for h in history[-2:]]) < history[0]["landmark"]


@pytest.mark.parametrize("name", NETWORKS)
def test_with_a_vgg_the_papers_perceptual_and_style_terms_replace_the_stand_in(name):
    from training.vgg import VGG16Features

    torch.manual_seed(0)
    _, step = build(name, WIDTH, vgg=VGG16Features())     # random weights: only the wiring is tested
    terms = step(face_batch())
    assert "feature_matching" not in terms
    assert np.isfinite(terms["perceptual"]) and np.isfinite(terms["style"]) and terms["perceptual"] > 0


def test_edgeconnect_joint_phase_trains_the_edge_generator_through_the_image_losses():
    torch.manual_seed(0)
    net, step = build("edgeconnect", WIDTH, phase="joint")
    before = [p.detach().clone() for p in net.edge.parameters()]
    terms = step(face_batch())
    assert "d_edge" not in terms and "edge_adversarial" not in terms      # D1 is removed for the joint phase
    assert any(not torch.equal(b, p) for b, p in zip(before, net.edge.parameters()))


def test_step_state_round_trips_and_bad_names_are_refused():
    torch.manual_seed(0)
    net, step = build("ctsdg", WIDTH)
    step(face_batch())
    state = step.state_dict()
    torch.manual_seed(1)
    net2, step2 = build("ctsdg", WIDTH)
    step2.load_state_dict(state)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), net2.state_dict().values()))
    step.scale_lr(0.5)
    assert step.optimisers["generator"].param_groups[0]["lr"] == pytest.approx(1e-4)
    with pytest.raises(ConfigError):
        build("deepfill", WIDTH)
    with pytest.raises(ConfigError):
        build("edgeconnect", WIDTH, phase="sideways")


def test_gray_uses_the_papers_weights():
    rgb = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)
    assert to_gray(rgb).item() == pytest.approx(0.2125)
