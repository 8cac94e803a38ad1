"""The training loop of Algorithm 1: alternate discriminator and generator updates, resumable.

A run folder holds ``config.toml`` (resolved), ``state.pt`` (latest generator, discriminator,
optimisers, step and RNG: plain tensors, loaded with ``weights_only=True``), ``log.csv`` (one row
per ``log_every`` steps, plot it with any spreadsheet), ``samples/step_XXXXXXX.png`` and
``best_g.safetensors`` (generator with the best validation PSNR so far). An exponential moving
average of the generator weights (``train.ema``, 0 disables it) is kept beside the trained ones;
validation, the best checkpoint and the export use it, because averaging over the last few hundred
noisy small-batch steps gives steadier fills than the last step alone.

``architecture`` other than "nclg-mt" trains one of the thesis's comparison networks (EdgeConnect,
LaFIn, CTSDG) on the same data, masks and loop: the network and its ``training.comparison`` step
(its own losses, discriminators and optimisers) replace the generator, discriminator and
optimisers; ``state.pt`` then holds ``comparison`` (the step's ``state_dict``) and ``architecture``
instead of ``g``/``d``/``opt_g``/``opt_d``. The EMA, ``init_from``, validation, the step decay of
the learning rates (``step.scale_lr``) and the export apply to them alike; the landmark NME is
validated only for a network that predicts landmarks (LaFIn).
"""

from __future__ import annotations

import contextlib
import copy
import csv
import json
import math
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from inference.atomic import atomic_write
from inference.models.nclg_mt import NCLGMTGenerator, PatchDiscriminator
from training import losses as L
from training.config import NCLG_MT, Config, check_architecture, generator_kwargs, resolve
from training.data.dataset import FaceCropSet, MaskSampler, sample_batch, to_tensors
from training.distributed import DistInfo, average_gradients, init_distributed, shutdown, unwrap, wrap
from training.errors import ConfigError, DataError
from training.evaluation import metrics
from training.evaluation.structure import landmark_nme
from training.masks.lip import lip_region_mask
from training.masks.nvidia import NvidiaMasks, load_nvidia_masks
from training.samples import draw_landmarks, grid, masked_view, save_png, to_uint8

LOG_FIELDS = ["step", "time_s", "sec_per_step", "g_lr", "d_lr", "d_loss", "g_total", "l1", "adversarial",
              "landmark", "tv", "feature_matching", "perceptual", "style", "mouth_l1", "edge", "encoder_perceptual",
              "nose_detail", "val_psnr", "val_l1", "val_nme"]
#: The comparison networks' loss terms as well (``training.comparison``), for their runs' ``log.csv``. A resumed
#: run whose log has fewer columns gets its header widened once (``widen_log_header``), old rows kept.
COMPARISON_LOG_FIELDS = LOG_FIELDS[:-3] + [
    "reconstruction", "d_image", "d_edge", "edge_adversarial", "edge_feature_matching", "g_edge", "g_image",
    "hole", "valid", "intermediate"] + LOG_FIELDS[-3:]


def widen_log_header(path: Path, fields: list[str]) -> None:
    """Rewrite ``path`` with the header ``fields`` when it was written with a subset of them (an older run
    resumed with new loss terms), so the rows appended next line up with their columns."""
    if not path.is_file():
        return
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        if header == fields or not set(header) < set(fields):
            return
        rows = list(reader)
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


@dataclass
class TrainResult:
    step: int
    run_dir: Path
    first_loss: float
    last_loss: float


def _autocast(config: Config, device: torch.device) -> tuple[contextlib.AbstractContextManager, bool]:
    """(autocast context, needs GradScaler)."""
    mode = config.train.autocast
    if mode == "none":
        return contextlib.nullcontext(), False
    if device.type == "cuda":
        dtype = torch.bfloat16 if mode == "bf16" else torch.float16
        return torch.autocast("cuda", dtype=dtype), dtype == torch.float16
    if mode == "bf16" or (mode == "auto" and config.train.autocast_cpu):
        return torch.autocast("cpu", dtype=torch.bfloat16), False
    return contextlib.nullcontext(), False


def load_masks(config: Config) -> NvidiaMasks | None:
    if config.masks.mix.get("nvidia", 0) <= 0:
        return None
    return load_nvidia_masks(resolve(config.masks.nvidia_folder), resolve(config.masks.nvidia_cache), config.seed)


def _comparison_autocast(config: Config, device: torch.device) -> contextlib.AbstractContextManager:
    """Mixed precision for a comparison step: bf16 only (the steps run their own optimisers, without a
    gradient scaler, so fp16 gradients could underflow); "auto" is bf16 on CUDA, fp32 on the CPU unless
    ``autocast_cpu``."""
    mode = config.train.autocast
    if mode == "none":
        return contextlib.nullcontext()
    if mode == "fp16":
        raise ConfigError(f"train.autocast = 'fp16': the {config.architecture} step has no gradient scaler; use "
                          "'bf16', 'auto' or 'none'.")
    if device.type == "cuda" or mode == "bf16" or config.train.autocast_cpu:
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def describe_hardware(device: torch.device) -> str:
    """The machine a run trains on, as a model card states it (GPU name, or CPU model and torch threads)."""
    if device.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "GPU: Apple MPS"
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    threads = torch.get_num_threads()
    return f"CPU: {model} ({threads} torch thread{'' if threads == 1 else 's'})"


def _atomic_save(obj: dict, path: Path) -> None:
    atomic_write(path, lambda handle: torch.save(obj, handle))


def load_state(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


class Trainer:
    """One training run; ``train()`` runs until ``config.train.steps`` (resuming from ``state.pt``)."""

    def __init__(self, config: Config, run_dir: Path, resume: bool = True, device: torch.device | None = None,
                 progress: bool = True, dist_info: DistInfo | None = None) -> None:
        self.config, self.run_dir, self.progress = config, Path(run_dir), progress
        check_architecture(config)  # before any data is read: settings that do not apply are refused at once
        self.dist = dist_info or init_distributed(device)
        self.device = self.dist.device
        torch.set_num_threads(max(1, config.train.threads))
        torch.manual_seed(config.seed + self.dist.rank)
        self.rng = np.random.default_rng(config.seed + 1000 * self.dist.rank)
        cache = resolve(config.data.cache)
        from training.privacy import check_data_folder

        self.manifest = check_data_folder(resolve(config.data.folder))
        self.data = FaceCropSet(cache, "train", config.data.infant)
        try:
            self.val = FaceCropSet(cache, "val", config.data.infant, limit=config.train.val_images)
        except DataError:  # tiny caches (tests, a handful of photos) may have no validation face
            self.val = FaceCropSet(cache, "train", config.data.infant, limit=config.train.val_images)
        self.masks = MaskSampler(config.masks.mix, load_masks(config))
        self.comparison_step = None  # the comparison network's training step (training.comparison), if any
        if config.is_comparison:
            self._init_comparison(resume)
        else:
            self._init_nclg_mt(resume)
        self.g_ema = copy.deepcopy(self.g).eval().requires_grad_(False) if config.train.ema > 0 else None
        # The encoder-perceptual loss compares features of the generator as it was when training (re)started.
        self.feature_net = (copy.deepcopy(self.g).eval().requires_grad_(False)
                            if not config.is_comparison and config.loss.encoder_perceptual else None)
        if self.g_ema is not None and self._loaded_ema is not None:
            self.g_ema.load_state_dict(self._loaded_ema)
        if self.comparison_step is not None:
            self.autocast = _comparison_autocast(config, self.device)
        else:
            self.g_ddp, self.d_ddp = wrap(self.g, self.dist), wrap(self.d, self.dist)
            self.autocast, use_scaler = _autocast(config, self.device)
            self.scaler_g = torch.amp.GradScaler("cuda", enabled=use_scaler)
            self.scaler_d = torch.amp.GradScaler("cuda", enabled=use_scaler)
        self._val_batch = self._fixed_val_batch()

    def _init_nclg_mt(self, resume: bool) -> None:
        """Our generator, discriminator and optimisers; resumed, or started from ``init_from``."""
        config = self.config
        self.g = NCLGMTGenerator(**generator_kwargs(config)).to(self.device)
        self.d = PatchDiscriminator(width=config.width).to(self.device)
        betas = tuple(config.optim.betas)
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=config.optim.g_lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=config.optim.d_lr, betas=betas)
        self.vgg = None
        if config.vgg_weights:
            from training.vgg import load_vgg16

            self.vgg = load_vgg16(resolve(config.vgg_weights)).to(self.device)
        self.step = 0
        self.best_psnr = -math.inf
        self._loaded_ema: dict | None = None
        self.run_dir.mkdir(parents=True, exist_ok=True)
        state_path = self.run_dir / "state.pt"
        if resume and state_path.is_file():
            self._load(load_state(state_path))
        elif config.train.init_from:
            state = self._init_from_state()
            self._load_network_init(state.get("g_ema", state["g"]))
            self.d.load_state_dict(state["d"])
        if not (resume and state_path.is_file()):
            def fresh(prefix: str) -> bool:  # a module this run starts, rather than continues
                return not config.train.init_from or prefix.startswith(config.train.init_fresh)

            if config.coarse_fill == "lip_prior" and fresh("prior."):
                from training.lip_prior import load_lip_prior

                self.g.prior.load_state_dict(load_lip_prior(resolve(config.lip_prior)))
            if config.landmark_head == "heatmap" and fresh("landmarks."):
                self.g.landmarks.mean_shape.copy_(torch.from_numpy(self.data.mean_landmarks()))

    def _init_comparison(self, resume: bool) -> None:
        """A comparison network and its step (which owns its discriminators and optimisers); resumed, or its
        network (and discriminators) started from ``init_from``. One device: the steps do their own updates."""
        from training.comparison import build_from_config

        config = self.config
        if self.dist.world_size > 1:
            raise ConfigError(f"{config.architecture} trains on one device; start it without torchrun.")
        self.vgg = None
        if config.vgg_weights:
            from training.vgg import load_vgg16

            self.vgg = load_vgg16(resolve(config.vgg_weights)).to(self.device)
        self.g, self.comparison_step = build_from_config(config, self.vgg, self.device)
        self.d = self.opt_g = self.opt_d = None
        self.step = 0
        self.best_psnr = -math.inf
        self._loaded_ema = None
        self.run_dir.mkdir(parents=True, exist_ok=True)
        state_path = self.run_dir / "state.pt"
        if resume and state_path.is_file():
            self._load(load_state(state_path))
        elif config.train.init_from:
            state = self._init_from_state()
            saved = state["comparison"]
            self._load_network_init(state.get("g_ema", saved["network"]))
            for key, disc in self.comparison_step.discriminators.items():
                disc.load_state_dict(saved["discriminators"][key])

    def _init_from_state(self) -> dict:
        """The state ``train.init_from`` names (a run folder or its state file), of this architecture."""
        src = resolve(self.config.train.init_from)
        state = load_state(src / "state.pt" if src.is_dir() else src)
        self._check_architecture_of(state, src)
        return state

    def _load_network_init(self, saved: dict) -> None:
        """Start the network from ``saved`` weights, except the modules under ``train.init_fresh``, which
        keep their fresh initialisation (e.g. a zero-initialised output layer for a new coarse fill or head)."""
        prefix = self.config.train.init_fresh
        fresh = self.g.state_dict()
        state = {k: v for k, v in saved.items() if not k.startswith(prefix)}
        state.update({k: v for k, v in fresh.items() if k.startswith(prefix)})
        self.g.load_state_dict(state)

    def _check_architecture_of(self, state: dict, where: Path) -> None:
        saved = state.get("architecture", NCLG_MT)
        if saved != self.config.architecture:
            raise ConfigError(f"{where} holds a {saved} run, but this configuration trains {self.config.architecture}; "
                              "choose another run folder (--run-dir), --fresh, or another init_from.")

    @property
    def log_fields(self) -> list[str]:
        return LOG_FIELDS if self.comparison_step is None else COMPARISON_LOG_FIELDS

    def _learning_rates(self, key: str = "lr") -> tuple[float, float]:
        """(generator, discriminator) learning rate now (``key="lr"``) or at the start (``"base_lr"``)."""
        if self.comparison_step is None:
            if key == "base_lr":
                return self.config.optim.g_lr, self.config.optim.d_lr
            return self.opt_g.param_groups[0]["lr"], self.opt_d.param_groups[0]["lr"]
        groups = [(name, opt.param_groups[0]) for name, opt in self.comparison_step.optimisers.items()]
        g = next(group for name, group in groups if not name.startswith("d"))
        d = next(group for name, group in groups if name.startswith("d"))
        return g[key], d[key]

    # ---- state -------------------------------------------------------------------------------
    def _load(self, state: dict) -> None:
        self._check_architecture_of(state, self.run_dir)
        if self.comparison_step is not None:
            self.comparison_step.load_state_dict(state["comparison"])
        else:
            self.g.load_state_dict(state["g"])
            self.d.load_state_dict(state["d"])
            self.opt_g.load_state_dict(state["opt_g"])
            self.opt_d.load_state_dict(state["opt_d"])
        self.step = int(state["step"])
        self._loaded_ema = state.get("g_ema")
        self.best_psnr = float(state.get("best_psnr", -math.inf))
        saved = json.loads(state.get("config", "{}"))
        if saved.get("data", {}).get("resolution") != self.config.data.resolution \
                or saved.get("data", {}).get("infant") != self.config.data.infant:
            self.best_psnr = -math.inf  # a different validation set: the old best is not comparable
        if "rng" in state:
            self.rng.bit_generator.state = json.loads(state["rng"])

    def save(self) -> Path:
        path = self.run_dir / "state.pt"
        if self.dist.is_main:
            extra = {"g_ema": self.g_ema.state_dict()} if self.g_ema is not None else {}
            if self.comparison_step is not None:
                nets = {"comparison": self.comparison_step.state_dict(), "architecture": self.config.architecture}
            else:
                nets = {"g": self.g.state_dict(), "d": self.d.state_dict(), "opt_g": self.opt_g.state_dict(),
                        "opt_d": self.opt_d.state_dict()}
            _atomic_save({**extra, **nets, "step": self.step, "best_psnr": self.best_psnr,
                          "rng": json.dumps(self.rng.bit_generator.state), "config": json.dumps(self.config.to_dict()),
                          "width": self.config.width}, path)
        return path

    def _lr_factor(self) -> float:
        return self.config.optim.decay ** (self.step // max(1, self.config.optim.decay_every))

    def _set_lr(self) -> None:
        f = self._lr_factor()
        if self.comparison_step is not None:
            self.comparison_step.scale_lr(f)
            return
        for group in self.opt_g.param_groups:
            group["lr"] = self.config.optim.g_lr * f
        for group in self.opt_d.param_groups:
            group["lr"] = self.config.optim.d_lr * f

    # ---- one step ----------------------------------------------------------------------------
    def train_step(self, image: torch.Tensor, hole: torch.Tensor, lm: torch.Tensor) -> dict[str, float]:
        if self.comparison_step is not None:
            return self._comparison_train_step(image, hole, lm)
        w = self.config.loss
        image, hole, lm = image.to(self.device), hole.to(self.device), lm.to(self.device)
        n = image.shape[0]
        guide = self._guide(lm)
        with self.autocast:
            out, lm_pred = self.g_ddp(image, hole, guide)
            comp = out * hole + image * (1 - hole)
        # discriminator: real vs composited fake, one forward on both halves
        self.d.requires_grad_(True)
        with self.autocast:
            logits = self.d_ddp(torch.cat([image, comp.detach()]))
            hole_weight = L.hole_patch_weight(hole, logits) if w.adversarial_mode == "hole" else None
            d_loss = L.d_hinge(logits[:n].float(), logits[n:].float(), hole_weight)
        self.opt_d.zero_grad(set_to_none=True)
        self.scaler_d.scale(d_loss).backward()
        self.scaler_d.step(self.opt_d)
        self.scaler_d.update()
        # generator (discriminator frozen and used unwrapped: it is not updated in this half)
        self.d.requires_grad_(False)
        with self.autocast:
            feats = unwrap(self.d_ddp).features(torch.cat([comp, image]))
            fake_feats = [f[:n].float() for f in feats]
            real_feats = [f[n:].float().detach() for f in feats]
        terms = {
            "l1": L.l1_reconstruction(out.float(), image, hole, w.l1_mode, w.l1_valid),
            "adversarial": L.g_hinge(fake_feats[-1], hole_weight),
            "landmark": L.landmark_loss(lm_pred.float(), lm, w.landmark_reference_size, w.landmark_mode),
            "tv": L.total_variation(comp.float()),
        }
        total = w.l1 * terms["l1"] + w.adversarial * terms["adversarial"] + w.landmark * terms["landmark"] \
            + w.tv * terms["tv"]
        if w.mouth_l1:
            terms["mouth_l1"] = L.region_l1(out.float(), image, L.mouth_region(lm, image.shape[-2:]) * hole)
            total = total + w.mouth_l1 * terms["mouth_l1"]
        if w.edge:
            terms["edge"] = L.gradient_l1(out.float(), image, hole)
            total = total + w.edge * terms["edge"]
        if w.nose_detail:
            terms["nose_detail"] = L.detail_energy_gap(out.float(), image, L.nose_region(lm, image.shape[-2:]) * hole)
            total = total + w.nose_detail * terms["nose_detail"]
        if self.feature_net is not None:
            with self.autocast:
                terms["encoder_perceptual"] = L.encoder_perceptual(self.feature_net, comp, image).float()
            total = total + w.encoder_perceptual * terms["encoder_perceptual"]
        if self.vgg is not None:
            terms["perceptual"], terms["style"] = L.perceptual_and_style(self.vgg, comp, image)
            total = total + w.perceptual * terms["perceptual"] + w.style * terms["style"]
        else:
            terms["feature_matching"] = L.feature_matching(fake_feats, real_feats)
            total = total + w.feature_matching * terms["feature_matching"]
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler_g.scale(total).backward()
        self.scaler_g.step(self.opt_g)
        self.scaler_g.update()
        self.d.requires_grad_(True)
        self._update_ema()
        result = {k: float(v.detach()) for k, v in terms.items()}
        result.update(d_loss=float(d_loss.detach()), g_total=float(total.detach()))
        if not math.isfinite(result["g_total"]):
            raise ConfigError(f"The generator loss became {result['g_total']} at step {self.step}; lower the "
                              "learning rate or disable mixed precision.")
        return result

    def _comparison_train_step(self, image: torch.Tensor, hole: torch.Tensor, lm: torch.Tensor) -> dict[str, float]:
        """One step of the comparison network (its discriminators, then its generators), then the EMA."""
        with self.autocast:
            terms = self.comparison_step((image, hole, lm))
        self._update_ema()
        return terms

    def landmark_step(self, image: torch.Tensor, hole: torch.Tensor, lm: torch.Tensor) -> dict[str, float]:
        """A warm-up step: only the landmark head learns, from the frozen shared encoder's features.

        A fresh head on a trained encoder needs many faces and little else; the encoder's forward
        pass without gradients costs a fraction of a full step, so the head sees several times
        more faces per second than in joint training.
        """
        w = self.config.loss
        image, hole, lm = image.to(self.device), hole.to(self.device), lm.to(self.device)
        with torch.no_grad(), self.autocast:
            enc = self.g.encode(image, hole)
        with self.autocast:
            pred, _ = self.g.predict_landmarks(enc)
            loss = L.landmark_loss(pred.float(), lm, w.landmark_reference_size, w.landmark_mode)
        self.opt_g.zero_grad(set_to_none=True)
        (w.landmark * loss).backward()
        average_gradients(self.g, self.dist)  # encode/predict_landmarks bypass DDP's hooks
        self.opt_g.step()
        self._update_ema()
        return {"landmark": float(loss.detach()), "g_total": float(w.landmark * loss.detach())}

    def _guide(self, lm: torch.Tensor) -> torch.Tensor | None:
        """Landmarks for the image branch: the truth (jittered) for a ``guide_truth`` share of the samples,
        the branch's own prediction (NaN rows) for the rest, so the image learns to follow its landmarks."""
        share = self.config.train.guide_truth
        if share <= 0:
            return None
        chosen = torch.from_numpy(self.rng.random(lm.shape[0]) < share).to(lm.device)
        jitter = torch.from_numpy(self.rng.normal(0, self.config.train.guide_jitter, lm.shape[:1] + (1, 2))
                                  + self.rng.normal(0, self.config.train.guide_jitter / 2, lm.shape)).float()
        truth = (lm + jitter.to(lm.device)).clamp(0, 1)
        return torch.where(chosen[:, None, None], truth, torch.full_like(lm, float("nan")))

    @torch.no_grad()
    def _update_ema(self) -> None:
        if self.g_ema is None:
            return
        decay = min(self.config.train.ema, (1 + self.step) / (10 + self.step))  # short warm-up
        for e, p in zip(self.g_ema.parameters(), self.g.parameters()):
            e.lerp_(p.detach(), 1 - decay)
        for e, b in zip(self.g_ema.buffers(), self.g.buffers()):
            e.copy_(b)

    def generator_for_eval(self) -> nn.Module:
        return self.g_ema if self.g_ema is not None else self.g

    # ---- validation and samples --------------------------------------------------------------
    def _fixed_val_batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Validation faces with fixed holes: alternately lip-region and NVIDIA/free-form masks."""
        rng = np.random.default_rng(12345)
        size = self.config.data.resolution
        images, holes, lms = [], [], []
        for i in range(len(self.val)):
            image, lm = self.val.get(i, size)
            images.append(image)
            lms.append(lm)
            holes.append(lip_region_mask(lm, rng, size) if i % 2 == 0 else self.masks.sample(rng, lm, size))
        return to_tensors(images, holes, lms)

    @torch.no_grad()
    def validate(self) -> tuple[float, float, np.ndarray]:
        """(PSNR of the composite in dB, L1 x 100 over the image, sample grid).

        Scored with the evaluator's own functions on the uint8 composites (mean over images, NME
        over all 68 points by the outer inter-ocular distance), so ``val_psnr``, ``val_l1`` and
        ``val_nme`` are the numbers ``python -m training evaluate`` would give for the same pairs.
        """
        image, hole, lm = (t.to(self.device) for t in self._val_batch)
        g = self.generator_for_eval()
        was_training = g.training
        g.eval()
        outs, lms = [], []
        for i in range(0, image.shape[0], 8):
            out, lm_pred = g(image[i:i + 8], hole[i:i + 8])  # fp32: validation is a measurement
            outs.append(out.float())
            lms.append(None if lm_pred is None else lm_pred.float())  # None: a network without landmarks
        g.train(was_training)
        out = torch.cat(outs)
        lm_pred = None if any(p is None for p in lms) else torch.cat(lms)
        comp = out * hole + image * (1 - hole)
        gt, co, holes = to_uint8(image), to_uint8(comp), hole[:, 0].bool().cpu().numpy()
        psnr = float(np.mean([metrics.psnr(c, t) for c, t in zip(co, gt)]))
        l1 = float(np.mean([metrics.l1_x100(c, t) for c, t in zip(co, gt)]))
        size = gt.shape[1]  # NME is scale-free; pixels as in the evaluation
        if lm_pred is None:
            self.last_val_nme = None
        else:
            self.last_val_nme = float(np.mean([landmark_nme(p * size, t * size)[0]
                                               for p, t in zip(lm_pred.cpu().numpy(), lm.cpu().numpy())]))
        rows = [[masked_view(gt[i], holes[i]),
                 co[i] if lm_pred is None else draw_landmarks(co[i], lm_pred[i].cpu().numpy()), co[i], gt[i]]
                for i in range(min(8, len(gt)))]
        return psnr, l1, grid(rows)

    # ---- the loop ----------------------------------------------------------------------------
    def _log(self, row: dict) -> None:
        path = self.run_dir / "log.csv"
        new = not path.is_file()
        with path.open("a", newline="") as f:
            writer = csv.DictWriter(f, self.log_fields, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(row)

    def train(self, steps: int | None = None, minutes: float | None = None) -> TrainResult:
        """Run until step ``steps`` (default: the config's), or until ``minutes`` of wall-clock time have passed
        (a GPU lease is counted in minutes, not steps); returns the first and last total loss."""
        from tqdm import tqdm

        target = steps if steps is not None else self.config.train.steps
        if minutes is not None and self.dist.world_size > 1:
            raise ConfigError("--minutes stops each process on its own clock, which would leave the others waiting; "
                              "give several GPUs --steps instead.")
        deadline = None if minutes is None else time.monotonic() + 60 * minutes
        cfg = self.config.train
        if self.dist.is_main:
            widen_log_header(self.run_dir / "log.csv", self.log_fields)
            (self.run_dir / "config.json").write_text(json.dumps(self.config.to_dict(), indent=2))
            with (self.run_dir / "history.jsonl").open("a") as f:  # one line per (re)start: the schedule
                extra = {"loss": asdict(self.config.loss), "lip_prior_gain": self.config.lip_prior_gain} \
                    if self.comparison_step is None else {
                    "architecture": self.config.architecture, "hardware": describe_hardware(self.device)}
                f.write(json.dumps({"start_step": self.step, "target_step": target,
                                    "resolution": self.config.data.resolution, "batch_size": cfg.batch_size,
                                    "infant": self.config.data.infant, "g_lr": self._learning_rates("base_lr")[0],
                                    "init_from": self.config.train.init_from if self.step == 0 else "",
                                    "world_size": self.dist.world_size, "device": str(self.device),
                                    "d_lr": self._learning_rates("base_lr")[1],
                                    "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **extra}) + "\n")
        first = last = float("nan")
        sums: dict[str, float] = {}
        count, t_log = 0, time.monotonic()
        t0 = time.monotonic()
        bar = tqdm(total=target, initial=self.step, desc=self.config.name, disable=not (self.progress and self.dist.is_main))
        while self.step < target and (deadline is None or time.monotonic() < deadline):
            self._set_lr()
            warmup = self.step < cfg.landmark_warmup
            batch = sample_batch(self.data, self.masks, self.rng, cfg.landmark_warmup_batch if warmup else cfg.batch_size,
                                 self.config.data.resolution, self.config.data.flip)
            terms = self.landmark_step(*batch) if warmup else self.train_step(*batch)
            self.step += 1
            bar.update(1)
            bar.set_postfix({k: f"{terms[k]:.3f}" for k in ("g_total", "l1", "landmark", "d_loss") if k in terms})
            first = terms["g_total"] if math.isnan(first) else first
            last = terms["g_total"]
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + v
            count += 1
            row: dict = {}
            if self.dist.is_main and (self.step % cfg.val_every == 0 or self.step % cfg.sample_every == 0):
                psnr, l1, picture = self.validate()
                row.update(val_psnr=round(psnr, 3), val_l1=round(l1, 4))
                if self.last_val_nme is not None:  # None: the network predicts no landmarks
                    row.update(val_nme=round(self.last_val_nme, 4))
                if self.step % cfg.sample_every == 0:
                    save_png(self.run_dir / "samples" / f"step_{self.step:07d}.png", picture)
                if psnr > self.best_psnr:
                    self.best_psnr = psnr
                    from safetensors.torch import save_file

                    save_file({k: v.detach().cpu().contiguous() for k, v in self.generator_for_eval().state_dict().items()},
                              str(self.run_dir / "best_g.safetensors"))
            if self.dist.is_main and (self.step % cfg.log_every == 0 or row):
                now = time.monotonic()
                row.update({k: round(v / max(count, 1), 5) for k, v in sums.items()})
                row.update(step=self.step, time_s=round(now - t0, 1), sec_per_step=round((now - t_log) / max(count, 1), 3),
                           g_lr=self._learning_rates()[0], d_lr=self._learning_rates()[1])
                self._log(row)
                sums, count, t_log = {}, 0, now
            if self.step % cfg.checkpoint_every == 0 or self.step == target:
                self.save()
        bar.close()
        self.save()
        return TrainResult(self.step, self.run_dir, first, last)

    def close(self) -> None:
        shutdown(self.dist)
