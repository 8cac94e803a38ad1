"""A few CPU training steps: the loss goes down, checkpoints load, resume continues the step count."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from test_training_support import mini_setup, tiny_config


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return mini_setup(tmp_path_factory.mktemp("training"))


def test_few_steps_decrease_reconstruction_loss(setup, tmp_path: Path) -> None:
    from training.data.dataset import sample_batch
    from training.loop import Trainer

    config = tiny_config(*setup)
    config = replace(config, optim=replace(config.optim, g_lr=2e-3))
    trainer = Trainer(config, tmp_path / "run", resume=False, device=torch.device("cpu"), progress=False)
    batch = sample_batch(trainer.data, trainer.masks, trainer.rng, 2, 64)
    first = trainer.train_step(*batch)
    for _ in range(10):
        last = trainer.train_step(*batch)
    assert last["l1"] < 0.8 * first["l1"], (first, last)
    assert last["landmark"] < first["landmark"]


def test_train_writes_loadable_checkpoint_and_resume_continues(setup, tmp_path: Path) -> None:
    from inference.checkpoints import load_checkpoint
    from inference.io.mask_codec import MASK_FILE_CONVENTION
    from inference.models.nclg_mt import NCLGMTGenerator
    from training.export import export_run
    from training.loop import Trainer

    config = tiny_config(*setup)
    run = tmp_path / "run"
    trainer = Trainer(config, run, resume=False, device=torch.device("cpu"), progress=False)
    g_before = {k: v.clone() for k, v in trainer.g.state_dict().items()}
    d_before = {k: v.clone() for k, v in trainer.d.state_dict().items()}
    result = trainer.train(2)
    assert result.step == 2 and (run / "state.pt").is_file() and (run / "log.csv").is_file()
    # the loop really trains: both networks' weights moved, and every logged loss is a finite number
    assert not torch.equal(g_before["to_rgb.1.weight"], trainer.g.state_dict()["to_rgb.1.weight"])
    assert any(not torch.equal(v, trainer.d.state_dict()[k]) for k, v in d_before.items())
    assert math.isfinite(result.first_loss) and math.isfinite(result.last_loss)
    with (run / "log.csv").open(newline="") as fh:
        logged = list(csv.DictReader(fh))
    assert [int(r["step"]) for r in logged] == [1, 2]
    assert all(math.isfinite(float(r[k])) for r in logged for k in ("g_total", "l1", "d_loss"))
    assert logged[1]["val_psnr"] and math.isfinite(float(logged[1]["val_psnr"]))
    assert (run / "samples" / "step_0000002.png").is_file()

    resumed = Trainer(config, run, resume=True, device=torch.device("cpu"), progress=False)
    assert resumed.step == 2
    assert torch.equal(resumed.g.state_dict()["to_rgb.1.weight"], trainer.g.state_dict()["to_rgb.1.weight"])
    assert resumed.train(3).step == 3
    history = (run / "history.jsonl").read_text().splitlines()
    assert len(history) == 2 and '"start_step": 2' in history[1]

    folder = export_run(run, tmp_path / "export", "nclg-mt-lite")
    state, card = load_checkpoint(folder)
    assert card["training"]["steps"] == 3 and len(card["training"]["history"]) == 2 and card["architecture"]["kwargs"] == {"width": 0.125, "coarse_fill": "none"}
    assert card["preprocessing"]["mask_polarity"].startswith("1 = hole")
    assert card["preprocessing"]["mask_file"] == MASK_FILE_CONVENTION
    assert "white (grey >= 128) = hole" in MASK_FILE_CONVENTION
    net = NCLGMTGenerator(**card["architecture"]["kwargs"])
    net.load_state_dict(state, strict=True)
    for key, value in resumed.g_ema.state_dict().items():  # the export holds the averaged weights
        assert torch.equal(value, state[key]), key
    raw, _ = load_checkpoint(export_run(run, tmp_path / "raw", "nclg-mt-lite", weights="raw"))
    assert all(torch.equal(v, raw[k]) for k, v in resumed.g.state_dict().items())
    assert not all(torch.equal(v, raw[k]) for k, v in state.items())


def test_validation_scores_are_the_evaluators(setup, tmp_path: Path) -> None:
    """val_psnr / val_l1 / val_nme are the evaluation's numbers for the same composites."""
    from training.evaluation.metrics import score_pair
    from training.evaluation.structure import landmark_nme
    from training.loop import Trainer
    from training.samples import to_uint8

    trainer = Trainer(tiny_config(*setup), tmp_path / "run", resume=False, device=torch.device("cpu"), progress=False)
    psnr, l1, _ = trainer.validate()
    image, hole, lm = trainer._val_batch
    with torch.no_grad():
        out, lm_pred = trainer.generator_for_eval().eval()(image, hole)
    composites, truths = to_uint8(out * hole + image * (1 - hole)), to_uint8(image)
    scores = [score_pair(c, t) for c, t in zip(composites, truths)]
    assert psnr == pytest.approx(sum(s.psnr for s in scores) / len(scores), abs=1e-9)
    assert l1 == pytest.approx(sum(s.l1 for s in scores) / len(scores), abs=1e-9)
    size = image.shape[-1]
    nme = [landmark_nme(p * size, t * size)[0] for p, t in zip(lm_pred.numpy(), lm.numpy())]
    assert trainer.last_val_nme == pytest.approx(sum(nme) / len(nme), rel=1e-5)


def test_fresh_ignores_existing_state(setup, tmp_path: Path) -> None:
    from training.loop import Trainer

    config = tiny_config(*setup)
    Trainer(config, tmp_path / "run", resume=False, device=torch.device("cpu"), progress=False).train(1)
    assert Trainer(config, tmp_path / "run", resume=False, device=torch.device("cpu"), progress=False).step == 0


def test_init_from_keeps_the_listed_modules_fresh(setup, tmp_path: Path) -> None:
    """Stage 2 of the shipped lite run: every weight from stage 1 except a new zero output layer."""
    from dataclasses import replace

    from training.loop import Trainer

    config = tiny_config(*setup)
    stage1 = Trainer(config, tmp_path / "stage1", resume=False, device=torch.device("cpu"), progress=False)
    stage1.train(1)
    stage2_config = replace(config, coarse_fill="harmonic",
                            train=replace(config.train, init_from=str(tmp_path / "stage1"), init_fresh=("to_rgb",)))
    stage2 = Trainer(stage2_config, tmp_path / "stage2", resume=False, device=torch.device("cpu"), progress=False)
    old, new = stage1.g_ema.state_dict(), stage2.g.state_dict()
    assert new["to_rgb.1.weight"].abs().sum() == 0 and old["to_rgb.1.weight"].abs().sum() > 0
    assert all(torch.equal(new[k], old[k]) for k in new if not k.startswith("to_rgb"))
    assert stage2.train(2).step == 2

    from inference.checkpoints import load_checkpoint
    from training.export import export_run

    _, card = load_checkpoint(export_run(tmp_path / "stage2", tmp_path / "export", "nclg-mt-lite"))
    assert card["architecture"]["kwargs"] == {"width": 0.125, "coarse_fill": "harmonic"}
    lineage = card["training"]["initialised_from"]
    assert [(e["run"], e["steps"], len(e["history"])) for e in lineage] == [(str(tmp_path / "stage1"), 1, 1)]


def test_lip_prior_run_warms_up_the_landmark_head_then_trains_jointly_and_exports(setup, tmp_path: Path) -> None:
    """Stage 3: template and mean shape set at the start, warm-up steps touch only the head, guidance runs."""
    from dataclasses import replace

    from inference.checkpoints import load_checkpoint
    from inference.models.landmark_guided import build_network_from_card
    from training.export import export_run
    from training.lip_prior import build_lip_prior
    from training.loop import Trainer

    faces, cache, masks = setup
    build_lip_prior(cache, tmp_path / "prior.safetensors", limit=8, batch=4, progress=False)
    config = tiny_config(*setup)
    config = replace(config, coarse_fill="lip_prior", landmark_head="heatmap", landmark_sigma=1.5,
                     lip_prior=str(tmp_path / "prior.safetensors"),
                     loss=replace(config.loss, landmark_mode="l1", landmark=0.02),
                     train=replace(config.train, landmark_warmup=1, landmark_warmup_batch=2, guide_truth=0.5))
    trainer = Trainer(config, tmp_path / "run", resume=False, device=torch.device("cpu"), progress=False)
    assert trainer.g.prior.template.abs().sum() > 0
    assert torch.allclose(trainer.g.landmarks.mean_shape, torch.from_numpy(trainer.data.mean_landmarks()))
    before = {k: v.clone() for k, v in trainer.g.state_dict().items()}
    trainer.train(1)  # the warm-up step: only the landmark head moves
    after = trainer.g.state_dict()
    moved = {k for k in before if not torch.equal(before[k], after[k])}
    assert moved and all(k.startswith("landmarks.") for k in moved), moved
    trainer.train(2)  # a joint step, half the faces guided by their true landmarks
    assert not torch.equal(before["to_rgb.1.weight"], trainer.g.state_dict()["to_rgb.1.weight"])

    _, card = load_checkpoint(export_run(tmp_path / "run", tmp_path / "export", "nclg-mt-lite"))
    assert card["architecture"]["kwargs"] == {"width": 0.125, "coarse_fill": "lip_prior", "landmark_head": "heatmap",
                                              "landmark_sigma": 1.5}
    assert "template warped to the landmarks" in card["preprocessing"]["network_input"]
    start = json.loads((tmp_path / "run" / "history.jsonl").read_text().splitlines()[0])
    assert start["lip_prior_gain"] == 1.0

    # an export may set the template's gain; the card says what it trained at and what it runs at
    strong_state, strong = load_checkpoint(export_run(tmp_path / "run", tmp_path / "strong", "nclg-mt-lite",
                                                      prior_gain=1.6))
    assert strong["architecture"]["kwargs"]["prior_gain"] == 1.6
    assert strong["training"]["lip_prior_gain"] == {"trained_at": 1.0, "exported_at": 1.6}
    network = build_network_from_card(strong)
    network.load_state_dict(strong_state, strict=True)
    assert network.prior.gain == 1.6

    # a fine-tune swaps in another template and keeps the trained head's mean shape
    other = tmp_path / "other.safetensors"
    build_lip_prior(cache, other, limit=2, batch=2, seed=5, progress=False)
    tune = replace(config, lip_prior=str(other),
                   train=replace(config.train, init_from=str(tmp_path / "run"), init_fresh=("prior.",), landmark_warmup=0))
    tuned = Trainer(tune, tmp_path / "tuned", resume=False, device=torch.device("cpu"), progress=False)
    assert torch.equal(tuned.g.landmarks.mean_shape, trainer.g_ema.landmarks.mean_shape)
    assert not torch.equal(tuned.g.prior.template, trainer.g_ema.prior.template)


def test_mouth_and_edge_terms_are_trained_and_logged(setup, tmp_path: Path) -> None:
    from training.loop import Trainer

    config = tiny_config(*setup)
    config = replace(config, loss=replace(config.loss, mouth_l1=1.0, edge=2.0, encoder_perceptual=1.0, nose_detail=5.0))
    trainer = Trainer(config, tmp_path / "run", resume=False, device=torch.device("cpu"), progress=False)
    frozen = {k: v.clone() for k, v in trainer.feature_net.state_dict().items()}
    trainer.train(1)
    assert all(torch.equal(v, trainer.feature_net.state_dict()[k]) for k, v in frozen.items())  # stays frozen
    with (tmp_path / "run" / "log.csv").open(newline="") as fh:
        (row,) = list(csv.DictReader(fh))
    assert float(row["edge"]) > 0 and float(row["mouth_l1"]) >= 0 and float(row["encoder_perceptual"]) > 0
    assert float(row["nose_detail"]) >= 0
    total = float(row["g_total"])
    assert total > float(row["l1"]) + 2.0 * float(row["edge"])  # the terms are in the total

    (start,) = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    assert start["loss"]["mouth_l1"] == 1.0 and start["loss"]["edge"] == 2.0  # each (re)start records its losses
    assert start["d_lr"] == config.optim.d_lr


def test_a_resumed_runs_log_gets_the_new_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    from training.loop import LOG_FIELDS, widen_log_header

    path = tmp_path / "log.csv"
    old = [f for f in LOG_FIELDS if f not in ("mouth_l1", "edge")]
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, old)
        writer.writeheader()
        writer.writerow({f: i for i, f in enumerate(old)})
    widen_log_header(path, LOG_FIELDS)
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
    assert reader.fieldnames == LOG_FIELDS and len(rows) == 1
    assert rows[0]["step"] == "0" and rows[0]["edge"] == "" and rows[0]["val_nme"] == str(old.index("val_nme"))
    widen_log_header(path, LOG_FIELDS)            # already wide: untouched
    assert path.read_text().count("\n") == 2


def test_a_wall_clock_budget_stops_the_run_and_keeps_its_state(setup, tmp_path: Path) -> None:
    from training.loop import Trainer, load_state

    trainer = Trainer(tiny_config(*setup), tmp_path / "run", resume=False, device=torch.device("cpu"), progress=False)
    result = trainer.train(1000, minutes=0.02)      # 1.2 s: a few steps of the tiny network, far from 1000
    assert 1 <= result.step < 1000
    assert load_state(tmp_path / "run" / "state.pt")["step"] == result.step
