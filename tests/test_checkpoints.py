"""The one checkpoint format and the registry's refusal to run a neural model without weights."""

import json

import numpy as np
import pytest
import torch

from inference.checkpoints import CARD_FILE, WEIGHTS_FILE, load_checkpoint, save_checkpoint
from inference.errors import CheckpointError, UnknownModelError, WeightsMissingError
from inference.models import registry
from inference.models.landmark_guided import build_network_from_card
from inference.models.nclg_mt import NCLGMTGenerator

CARD = {"name": "nclg-mt-lite", "architecture": {"class": "NCLGMTGenerator", "kwargs": {"width": 0.25}},
        "training": {"data": "test"}, "evaluation": {}}


def test_round_trip_keeps_weights_and_card(tmp_path):
    net = NCLGMTGenerator(width=0.25)
    save_checkpoint(net, tmp_path, CARD)
    state, card = load_checkpoint(tmp_path)
    assert card["architecture"] == CARD["architecture"] and len(card["weights_sha256"]) == 64
    assert card["preprocessing"]["mask_polarity"].startswith("1 = hole")
    rebuilt = build_network_from_card(card)
    rebuilt.load_state_dict(state, strict=True)
    for key, value in net.state_dict().items():
        assert torch.equal(rebuilt.state_dict()[key], value)


def test_altered_weights_are_refused(tmp_path):
    save_checkpoint(NCLGMTGenerator(width=0.25), tmp_path, CARD)
    data = bytearray((tmp_path / WEIGHTS_FILE).read_bytes())
    data[-1] ^= 0xFF
    (tmp_path / WEIGHTS_FILE).write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="do not match"):
        load_checkpoint(tmp_path)


def test_pickle_files_are_never_loaded(tmp_path):
    torch.save(NCLGMTGenerator(width=0.25).state_dict(), tmp_path / "model.pt")
    (tmp_path / CARD_FILE).write_text(json.dumps(CARD))
    with pytest.raises(WeightsMissingError):
        load_checkpoint(tmp_path)


@pytest.mark.parametrize("zipped", [True, False], ids=["torch-zip", "bare-pickle"])
def test_pickle_named_model_safetensors_is_refused_without_unpickling(tmp_path, monkeypatch, zipped):
    """A pickle renamed model.safetensors, even with a card whose hash matches it, is never unpickled."""
    import pickle

    from inference.hashing import sha256_of

    torch.save(NCLGMTGenerator(width=0.25).state_dict(), tmp_path / WEIGHTS_FILE,
               _use_new_zipfile_serialization=zipped)
    (tmp_path / CARD_FILE).write_text(json.dumps({**CARD, "weights_sha256": sha256_of(tmp_path / WEIGHTS_FILE)}))

    def no_unpickling(*_args, **_kwargs):
        raise AssertionError("the loader tried to unpickle the weights")

    monkeypatch.setattr(torch, "load", no_unpickling)
    monkeypatch.setattr(pickle, "load", no_unpickling)
    monkeypatch.setattr(pickle, "loads", no_unpickling)
    with pytest.raises(CheckpointError, match="PyTorch pickle, not a safetensors file"):
        load_checkpoint(tmp_path)


def test_truncated_safetensors_header_is_a_typed_error(tmp_path):
    save_checkpoint(NCLGMTGenerator(width=0.25), tmp_path, CARD)
    (tmp_path / WEIGHTS_FILE).write_bytes((tmp_path / WEIGHTS_FILE).read_bytes()[:5])
    with pytest.raises(CheckpointError, match="not a safetensors file"):
        load_checkpoint(tmp_path)


def test_neural_model_without_weights_is_refused(weights_home):
    spec = registry.get_spec("nclg-mt-lite")
    assert not spec.weights_status().available
    with pytest.raises(WeightsMissingError, match="cannot run"):
        registry.load_model("nclg-mt-lite", "cpu")


def test_model_with_weights_loads_and_predicts(weights_home):
    save_checkpoint(NCLGMTGenerator(width=0.25), weights_home / "user" / "nclg-mt-lite", CARD)
    model = registry.load_model("nclg-mt-lite", "cpu")
    images = np.full((1, 256, 256, 3), 120, np.uint8)
    holes = np.zeros((1, 256, 256), bool)
    holes[0, 150:190, 100:160] = True
    (pred,) = model.predict_batch(images, holes)
    assert pred.image.shape == (256, 256, 3) and pred.landmarks_norm.shape == (68, 2)
    assert np.array_equal(pred.image[~holes[0]], images[0][~holes[0]])


def test_wrong_architecture_in_card_is_a_clear_error(weights_home):
    save_checkpoint(NCLGMTGenerator(width=0.5), weights_home / "user" / "nclg-mt-lite", CARD)
    with pytest.raises(CheckpointError, match="do not fit"):
        registry.load_model("nclg-mt-lite", "cpu")


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(UnknownModelError, match="opencv-telea"):
        registry.get_spec("no-such-model")
