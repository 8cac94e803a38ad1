"""The comparison networks (EdgeConnect, LaFIn, CTSDG) as first-class models: registered with their weights
reported missing like any other model's, trained and resumed by the training loop, exported with a model card,
loaded by the manager and run through the prediction service, the CLI and the evaluation like every model."""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import ndimage

from inference.checkpoints import CARD_FILE, load_checkpoint
from inference.errors import CheckpointError, WeightsMissingError
from inference.models import registry
from inference.models.comparison import ARCHITECTURES, MODELS
from inference.models.manager import ModelManager
from test_training_support import mini_setup, tiny_config
from training.config import ComparisonConfig, load_config
from training.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[1] / "training" / "configs"
PAPERS = {"edgeconnect": "Nazeri", "lafin": "Yang", "ctsdg": "Guo"}
LITE = {arch: f"{arch}-lite" for arch in ARCHITECTURES}


@pytest.fixture(autouse=True)
def _few_threads():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return mini_setup(tmp_path_factory.mktemp("comparison"))


def comparison_config(setup: tuple[Path, Path, Path], arch: str, **train: object):
    """The tests' tiny config (64 x 64, width 0.125, batch 2) for a comparison network; lr halved every step."""
    config = tiny_config(*setup, **train)
    return replace(config, name=LITE[arch], model=LITE[arch], architecture=arch, comparison=ComparisonConfig(),
                   optim=replace(config.optim, decay=0.5, decay_every=1))


@pytest.fixture(scope="module")
def runs(setup, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two training steps of each comparison network, through the training loop (run folders)."""
    from training.loop import Trainer

    folder = tmp_path_factory.mktemp("runs")
    out = {}
    for arch in ARCHITECTURES:
        trainer = Trainer(comparison_config(setup, arch), folder / arch, resume=False, device=torch.device("cpu"),
                          progress=False)
        result = trainer.train(2)
        assert result.step == 2 and math.isfinite(result.first_loss) and math.isfinite(result.last_loss)
        out[arch] = folder / arch
    return out


@pytest.fixture(scope="module")
def exports(runs, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each run exported as its lite model (safetensors + card)."""
    from training.export import export_run

    folder = tmp_path_factory.mktemp("exports")
    return {arch: export_run(run, folder / LITE[arch], LITE[arch]) for arch, run in runs.items()}


def install(folder: Path, home: Path, name: str) -> Path:
    """Put exported weights where the registry looks for ``name``'s (the user's weights folder)."""
    target = home / "user" / name
    shutil.copytree(folder, target)
    return target


def mouth_mask(rgb: np.ndarray) -> np.ndarray:
    from inference.pipeline import FacePipeline

    landmarks = FacePipeline().analyse(rgb).landmarks
    lo, hi = landmarks[48:68].min(0).astype(int) - 2, landmarks[48:68].max(0).astype(int) + 3
    mask = np.zeros(rgb.shape[:2], bool)
    mask[lo[1]:hi[1], lo[0]:hi[0]] = True
    return mask


# ---- registry -------------------------------------------------------------------------------------

def test_each_is_registered_full_size_and_lite_and_reports_its_missing_weights(weights_home, capsys) -> None:
    from inference.cli import main

    assert set(MODELS) == {f"{a}{s}" for a in ARCHITECTURES for s in ("", "-lite")}
    assert main(["models", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    for name, (arch, width) in MODELS.items():
        spec = registry.get_spec(name)
        assert spec.neural and spec.needs == frozenset({"image", "mask"})
        assert ("lite" in spec.display_name) == (width == 0.25) and PAPERS[arch] in spec.description
        assert spec.input_convention == ARCHITECTURES[arch].network_input  # not our network's input
        status = spec.weights_status()
        assert not status.available and status.folder is None
        # the very message every neural model without weights gives (the app lists it, the CLI prints it)
        assert status.reason == f"No trained weights: put model.safetensors and model_card.json in " \
                                f"{weights_home / 'user' / name}."
        assert status.reason == replace(registry.registered("nclg-mt"), name=name).weights_status().reason
        with pytest.raises(WeightsMissingError, match=re.escape(f"{spec.display_name} cannot run: {status.reason}")):
            ModelManager().load(name, "cpu")
        assert rows[name]["neural"] and not rows[name]["weights_available"]
        assert rows[name]["weights_status"] == status.reason


def test_the_cli_refuses_to_predict_without_weights(weights_home, tmp_path, utkface_paths, capsys) -> None:
    from inference.cli import EXIT_BAD_INPUT, main
    from inference.io import load_photo, save_mask

    save_mask(tmp_path / "mask.png", mouth_mask(load_photo(utkface_paths[0]).rgb))
    code = main(["predict", "--image", str(utkface_paths[0]), "--mask", str(tmp_path / "mask.png"),
                 "--model", "ctsdg-lite", "--out", str(tmp_path / "out.png"), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("error: CTSDG lite cannot run: No trained weights")
    assert not (tmp_path / "out.png").exists()


# ---- configuration ---------------------------------------------------------------------------------

@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_shipped_configs_share_nclg_mt_lites_protocol(arch: str) -> None:
    """Fairness: the same faces, masks, resolution, batch size, seed, step budget and schedule as NCLG-MT lite."""
    ours = load_config(CONFIGS / "nclg-mt-lite.toml")
    theirs = load_config(CONFIGS / f"{LITE[arch]}.toml")
    assert (theirs.name, theirs.architecture, theirs.width) == (LITE[arch], arch, 0.25)
    assert theirs.data == ours.data and theirs.masks == ours.masks and theirs.seed == ours.seed
    assert (theirs.optim.decay, theirs.optim.decay_every) == (ours.optim.decay, ours.optim.decay_every)
    same = ("batch_size", "steps", "val_every", "val_images", "ema", "threads", "autocast", "autocast_cpu")
    assert all(getattr(theirs.train, k) == getattr(ours.train, k) for k in same)
    assert theirs.vgg_weights == ours.vgg_weights and theirs.comparison.compared_with == "nclg-mt-lite"
    assert (theirs.train.landmark_warmup, theirs.train.guide_truth, theirs.train.init_from) == (0, 0.0, "")


@pytest.mark.parametrize(("arch", "override", "message"), [
    ("edgeconnect", "train.landmark_warmup=250", "landmark_warmup warms up NCLG-MT's landmark head"),
    ("lafin", "train.guide_truth=0.5", "guide_truth guides NCLG-MT's image branch"),
    ("ctsdg", "coarse_fill=\"lip_prior\"", "coarse_fill is a coarse stage of NCLG-MT"),
    ("lafin", "lip_prior_gain=1.6", "lip_prior_gain scales NCLG-MT's lip template"),
    ("edgeconnect", "loss.l1=2.0", "NCLG-MT's loss weights"),
    ("lafin", "optim.g_lr=0.001", "NCLG-MT's learning rates"),
    ("ctsdg", "comparison.phase=\"joint\"", "phase is EdgeConnect's"),
    ("edgeconnect", "architecture=\"edge-connect\"", "use one of nclg-mt, edgeconnect"),
])
def test_settings_that_do_not_apply_are_refused(arch: str, override: str, message: str) -> None:
    from training.config import parse_override

    with pytest.raises(ConfigError, match=message):
        load_config(CONFIGS / f"{LITE[arch]}.toml", dict([parse_override(override)]))


def test_the_trainer_refuses_landmark_warmup_for_edgeconnect_before_reading_data(setup, tmp_path) -> None:
    from training.loop import Trainer

    config = comparison_config(setup, "edgeconnect", landmark_warmup=5)
    with pytest.raises(ConfigError, match="landmark_warmup .*edgeconnect has no such head"):
        Trainer(config, tmp_path / "run", resume=False, device=torch.device("cpu"), progress=False)
    assert not (tmp_path / "run").exists()
    nclg = load_config(CONFIGS / "nclg-mt-lite.toml")
    with pytest.raises(ConfigError, match=r"\[comparison\] applies only"):
        Trainer(replace(nclg, comparison=ComparisonConfig(lr=1e-4)), tmp_path / "run", device=torch.device("cpu"))


def test_unknown_loss_weights_and_network_arguments_are_refused(setup) -> None:
    from training.comparison import build_from_config

    config = comparison_config(setup, "lafin")
    with pytest.raises(ConfigError, match="hole_weight not among lafin's loss weights"):
        build_from_config(replace(config, comparison=ComparisonConfig(weights={"hole_weight": 2.0})))
    with pytest.raises(ConfigError, match="depth not among lafin's arguments"):
        build_from_config(replace(config, comparison=ComparisonConfig(network={"depth": 3})))


# ---- training ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_two_steps_train_log_decay_and_resume(setup, runs, arch: str, tmp_path: Path) -> None:
    from training.loop import COMPARISON_LOG_FIELDS, Trainer, load_state

    run = tmp_path / "run"
    shutil.copytree(runs[arch], run)
    state = load_state(run / "state.pt")
    assert state["architecture"] == arch and state["step"] == 2 and "g" not in state
    assert set(state["comparison"]) == {"network", "discriminators", "optimisers", "steps"}
    with (run / "log.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == COMPARISON_LOG_FIELDS and [int(r["step"]) for r in rows] == [1, 2]
    assert all(math.isfinite(float(r[k])) for r in rows for k in ("g_total", "d_loss", "reconstruction"))
    assert math.isfinite(float(rows[1]["val_psnr"])) and (run / "samples" / "step_0000002.png").is_file()
    assert bool(rows[1]["val_nme"]) == (arch == "lafin")  # only LaFIn predicts landmarks
    lr = {"edgeconnect": 1e-4, "lafin": 1e-4, "ctsdg": 2e-4}[arch]  # the paper's, halved every step (decay 0.5)
    assert [float(r["g_lr"]) for r in rows] == pytest.approx([lr, lr / 2])
    assert float(rows[0]["d_lr"]) == pytest.approx(lr / 10)

    resumed = Trainer(comparison_config(setup, arch), run, resume=True, device=torch.device("cpu"), progress=False)
    assert resumed.step == 2 and resumed.comparison_step.steps == 2
    for key, value in state["comparison"]["network"].items():
        assert torch.equal(resumed.g.state_dict()[key], value), key
    for key, value in state["g_ema"].items():
        assert torch.equal(resumed.g_ema.state_dict()[key], value), key
    before = {k: v.clone() for k, v in resumed.g.state_dict().items()}
    assert resumed.train(3).step == 3
    assert any(not torch.equal(v, resumed.g.state_dict()[k]) for k, v in before.items())
    group = next(iter(resumed.comparison_step.optimisers.values())).param_groups[0]
    assert group["lr"] == pytest.approx(lr / 4)  # step.scale_lr(decay ** 2) before the third step
    history = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    assert [h["start_step"] for h in history] == [0, 2]
    assert all(h["architecture"] == arch and h["hardware"].startswith("CPU") for h in history)


def test_a_run_folder_of_another_architecture_is_refused(setup, runs, tmp_path: Path) -> None:
    from training.loop import Trainer

    run = tmp_path / "run"
    shutil.copytree(runs["edgeconnect"], run)
    with pytest.raises(ConfigError, match="holds a edgeconnect run, but this configuration trains ctsdg"):
        Trainer(comparison_config(setup, "ctsdg"), run, resume=True, device=torch.device("cpu"), progress=False)


def test_init_from_starts_a_new_run_from_the_averaged_network(setup, runs, tmp_path: Path) -> None:
    from training.loop import Trainer, load_state

    config = comparison_config(setup, "edgeconnect")
    tuned = replace(config, comparison=ComparisonConfig(phase="joint"),
                    train=replace(config.train, init_from=str(runs["edgeconnect"])))
    trainer = Trainer(tuned, tmp_path / "joint", resume=False, device=torch.device("cpu"), progress=False)
    source = load_state(runs["edgeconnect"] / "state.pt")
    assert trainer.step == 0 and trainer.comparison_step.phase == "joint"
    assert all(torch.equal(trainer.g.state_dict()[k], v) for k, v in source["g_ema"].items())
    assert trainer.train(1).step == 1

    from training.export import export_run

    _, card = load_checkpoint(export_run(tmp_path / "joint", tmp_path / "export", "edgeconnect-lite"))
    # the images seen count the run it started from: 1 step here + 2 there, batch 2
    assert (card["training"]["images_seen"], card["training"]["images_seen_this_run"]) == (6, 2)
    assert card["fairness"]["images_seen"] == 6 and card["training"]["optimiser"]["phase"] == "joint"


# ---- export, manager, service, CLI ----------------------------------------------------------------------

@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_the_card_states_architecture_input_hardware_and_fairness(exports, runs, arch: str) -> None:
    from training.loop import load_state

    state, card = load_checkpoint(exports[arch])
    cls = ARCHITECTURES[arch]
    assert card["architecture"]["class"] == cls.__name__ and card["architecture"]["kwargs"]["width"] == 0.125
    assert card["width"] == 0.125 and PAPERS[arch] in card["paper"]
    assert card["preprocessing"]["network_input"] == cls.network_input
    assert card["preprocessing"]["mask_polarity"].startswith("1 = hole") and card["resolution"] == 256
    assert card["trained_on"] and all(h.startswith("CPU: ") for h in card["trained_on"])
    fairness = card["fairness"]
    assert fairness["images_seen"] == 4 and card["training"]["images_seen"] == 4  # 2 steps x batch 2
    assert fairness["compared_with"] == "nclg-mt-lite" and "same number of images seen" in fairness["statement"]
    assert "feature matching" in fairness["statement"] and card["training"]["perceptual_substitute"]
    assert card["training"]["optimiser"]["lr"] == {"edgeconnect": 1e-4, "lafin": 1e-4, "ctsdg": 2e-4}[arch]
    ema = load_state(runs[arch] / "state.pt")["g_ema"]
    assert all(torch.equal(ema[k], v) for k, v in state.items())  # the averaged weights, as for NCLG-MT


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_exported_weights_load_and_predict_through_the_service_and_the_cli(
        exports, weights_home, utkface_paths, tmp_path, arch: str, capsys) -> None:
    from inference.cli import EXIT_OK, main
    from inference.io import load_photo, save_mask
    from inference.models.manager import default_manager
    from inference.pipeline import FacePipeline
    from inference.service import PredictionRequest, PredictionService

    name = LITE[arch]
    folder = install(exports[arch], weights_home, name)
    card = json.loads((folder / CARD_FILE).read_text())
    manager = ModelManager()
    spec = manager.spec(name)
    assert spec.weights_status().available and spec.weights_sha256 == card["weights_sha256"]
    assert spec.input_convention == ARCHITECTURES[arch].network_input and spec.resolution == 256
    model = manager.load(name, "cpu")
    assert model.accepts_landmarks == (arch == "lafin")  # LaFIn's generator can be steered by given landmarks

    rgb = load_photo(utkface_paths[0]).rgb
    mask = mouth_mask(rgb)
    record = PredictionService(manager, FacePipeline()).predict(PredictionRequest(rgb, mask, name, "cpu"))
    repaired = record.apply(rgb)
    far = ndimage.distance_transform_edt(~mask) >= 3  # the paste-back feathers the mask's edge only
    assert np.array_equal(repaired[far], rgb[far]) and (repaired[mask] != rgb[mask]).any()
    assert record.weights_sha256 == card["weights_sha256"] and record.device == "CPU"
    assert (record.landmarks is not None) == (arch == "lafin")

    save_mask(tmp_path / "mask.png", mask)
    out = tmp_path / "out.png"
    try:
        code = main(["predict", "--image", str(utkface_paths[0]), "--mask", str(tmp_path / "mask.png"),
                     "--model", name, "--out", str(out), "--device", "cpu"])
    finally:
        default_manager().unload(name)
    assert code == EXIT_OK, capsys.readouterr().err
    assert np.array_equal(load_photo(out).rgb, repaired)  # the CLI's pixels are the service's


def test_a_card_that_disagrees_with_its_network_is_refused(exports, weights_home) -> None:
    from inference.checkpoints import NETWORK_INPUTS

    # EdgeConnect weights in CTSDG's folder: the card names another architecture
    install(exports["edgeconnect"], weights_home, "ctsdg-lite")
    with pytest.raises(CheckpointError, match="names the architecture 'EdgeConnect', but this model is a CTSDG"):
        ModelManager().load("ctsdg-lite", "cpu")
    # a card that states another network's input, or our network's
    for stated in (ARCHITECTURES["ctsdg"].network_input, NETWORK_INPUTS["none"]):
        folder = install(exports["edgeconnect"], weights_home, "edgeconnect-lite")
        card = json.loads((folder / CARD_FILE).read_text())
        card["preprocessing"]["network_input"] = stated
        (folder / CARD_FILE).write_text(json.dumps(card))
        with pytest.raises(CheckpointError, match="network input .* EdgeConnect network is fed"):
            ModelManager().load("edgeconnect-lite", "cpu")
        shutil.rmtree(folder)
    # our network's registry entry does not run a comparison network's weights either
    install(exports["lafin"], weights_home, "nclg-mt-lite")
    with pytest.raises(CheckpointError, match="unknown architecture 'LaFIn'"):
        ModelManager().load("nclg-mt-lite", "cpu")


# ---- evaluation and benchmark ----------------------------------------------------------------------

def test_evaluate_scores_them_with_nme_only_for_lafin(setup, exports, tmp_path: Path) -> None:
    from training.evaluation.run import run_evaluation

    _, cache, masks = setup
    test_cache = tmp_path / "cache"
    shutil.copytree(cache, test_cache)
    rows = list(csv.DictReader((test_cache / "meta.csv").open()))
    for r in rows:
        r["split"] = "test"  # the mini set is too small for the hash split
    with (test_cache / "meta.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    names = ["edgeconnect-lite", "lafin-lite"]
    result = run_evaluation(names, test_cache, tmp_path / "out", limit=1, infant_limit=1, progress=False,
                            weights_dirs={LITE[a]: exports[a] for a in ("edgeconnect", "lafin")},
                            nvidia_folder=str(masks), nvidia_cache=str(masks.parent / "masks.npz"),
                            categories=("mouth",))
    data = result.data
    assert [m for m in data["models"]] == names
    assert data["models"]["lafin-lite"]["landmarks"] and not data["models"]["edgeconnect-lite"]["landmarks"]
    for subset in ("test", "infant"):
        ec, lafin = (data["models"][n]["scores"][subset]["mouth"] for n in names)
        assert "nme" not in ec and lafin["nme"]["n"] == 1 and math.isfinite(lafin["nme"]["all_mean"])
        assert all(math.isfinite(e[k]) for e in (ec, lafin) for k in ("psnr", "ssim", "hole_psnr"))
    assert "| edgeconnect-lite |" in result.markdown and (tmp_path / "out" / "grid_mouth.jpg").is_file()


def test_the_benchmark_times_them_only_with_weights(weights_home, exports, capsys) -> None:
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_inference.py"
    module_spec = importlib.util.spec_from_file_location("bench_inference_under_test", path)
    bench = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(bench)
    install(exports["lafin"], weights_home, "lafin-lite")
    ready, skipped = bench.comparison_models()
    assert ready == ["lafin-lite"]
    assert set(skipped) == set(MODELS) - {"lafin-lite"}
    assert all(reason.startswith("No trained weights") for reason in skipped.values())
