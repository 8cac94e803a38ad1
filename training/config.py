"""Training configuration read from a TOML file (tomllib, stdlib); one file per model in training/configs/.

Paths in a config are relative to the repository root (the folder holding ``training/``) unless absolute.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from training.errors import ConfigError
from training.losses import LossWeights

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class DataConfig:
    kind: str = "utkface"
    folder: str = "../shared/data/utkface"
    cache: str = "data-cache/utkface"
    infant: bool | None = None          # True: only infants (age 0-3), False: no infants, None: all
    resolution: int = 128
    flip: bool = True


@dataclass(frozen=True)
class MaskConfig:
    nvidia_folder: str = "../shared/data/masks-nvidia-test-256"
    nvidia_cache: str = "data-cache/masks-nvidia.npz"
    mix: dict[str, float] = field(default_factory=lambda: {"lip": 0.5, "nvidia": 0.35, "freeform": 0.15})


@dataclass(frozen=True)
class OptimConfig:
    g_lr: float = 2.92e-4
    d_lr: float = 2.92e-5
    betas: tuple[float, float] = (0.0, 0.9)
    decay: float = 0.78           # learning rates are multiplied by this every decay_every steps
    decay_every: int = 2000


@dataclass(frozen=True)
class TrainConfig:
    batch_size: int = 8
    steps: int = 10000
    log_every: int = 25
    sample_every: int = 250
    checkpoint_every: int = 100
    val_every: int = 250
    val_images: int = 16
    threads: int = 1
    autocast: str = "auto"        # "auto": fp16 on CUDA, bf16 on CPU when autocast_cpu; "none"; "bf16"; "fp16"
    autocast_cpu: bool = False
    ema: float = 0.999            # generator weight averaging; 0 disables
    init_from: str = ""           # a run folder or state file to start from (fine-tuning), weights only
    init_fresh: tuple[str, ...] = ()  # generator modules (name prefixes) that keep their fresh initialisation
    landmark_warmup: int = 0      # first steps train only the landmark head, on a frozen encoder (cheap, large batch)
    landmark_warmup_batch: int = 16
    guide_truth: float = 0.0      # share of samples whose image branch is guided by the true landmarks (jittered)
    guide_jitter: float = 0.01    # standard deviation of that jitter, in crop widths


#: What ``python -m training train`` can train: our network, or one of the thesis's comparison networks
#: (``training.comparison``: EdgeConnect, LaFIn, CTSDG).
ARCHITECTURES = ("nclg-mt", "edgeconnect", "lafin", "ctsdg")
NCLG_MT = "nclg-mt"


@dataclass(frozen=True)
class ComparisonConfig:
    """A comparison network's own settings (``architecture`` other than "nclg-mt"); the defaults are its paper's.

    ``[loss]`` and the learning rates of ``[optim]`` are NCLG-MT's and are refused for these networks;
    ``optim.decay`` / ``decay_every`` (the step schedule) apply to every architecture.
    """

    lr: float | None = None       # generator learning rate; unset: the paper's (EdgeConnect, LaFIn 1e-4; CTSDG 2e-4)
    d_lr_ratio: float = 0.1       # discriminator learning rate over the generator's (a tenth in all three papers)
    betas: tuple[float, float] = (0.0, 0.9)
    gan: str = "nsgan"            # "nsgan": the papers' log loss; "hinge": ours
    phase: str = "separate"       # EdgeConnect only: "separate" (the two stages apart) or "joint" (end to end)
    guide: str = "truth"          # LaFIn only: the generator draws from the "truth" or the "predicted" landmarks
    network: dict[str, Any] = field(default_factory=dict)  # constructor arguments: blocks, depth, landmark_sigma, sigma
    weights: dict[str, float] = field(default_factory=dict)  # loss weights that differ from the paper's, by name
    compared_with: str = "nclg-mt-lite"  # the NCLG-MT model whose protocol it shares (written into the card)


@dataclass(frozen=True)
class Config:
    name: str
    model: str = "nclg-mt-lite"
    architecture: str = NCLG_MT   # "nclg-mt" (ours) or a comparison network: "edgeconnect", "lafin", "ctsdg"
    width: float = 0.25
    coarse_fill: str = "none"     # "harmonic": the hole enters as a membrane fill and the network draws a correction;
                                  # "lip_prior": that fill plus the mean mouth-and-nose detail warped to the landmarks
    landmark_head: str = "paper"  # "heatmap": heat maps + soft-argmax on the shared feature map (see nclg_mt.py)
    landmark_sigma: float = 0.0   # > 0: landmarks fed back as Gaussians of this many map pixels (0: one pixel each)
    lip_prior: str = ""           # template file for coarse_fill = "lip_prior" (python -m training lip-prior)
    lip_prior_gain: float = 1.0   # the template's contrast multiplier (inference/models/lip_prior.py says why)
    seed: int = 0
    vgg_weights: str = ""
    data: DataConfig = field(default_factory=DataConfig)
    masks: MaskConfig = field(default_factory=MaskConfig)
    loss: LossWeights = field(default_factory=LossWeights)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    comparison: ComparisonConfig = field(default_factory=ComparisonConfig)

    @property
    def is_comparison(self) -> bool:
        """Whether this run trains a comparison network (``training.comparison``) rather than NCLG-MT."""
        return self.architecture != NCLG_MT

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def digest(self) -> str:
        return hashlib.sha256(repr(sorted(_flatten(self.to_dict()).items())).encode()).hexdigest()[:16]


def _flatten(d: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict) and k not in ("mix", "network", "weights"):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _build(cls: type, values: dict[str, Any], section: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = set(values) - set(known)
    if unknown:
        raise ConfigError(f"Unknown keys in [{section}]: {', '.join(sorted(unknown))}.")
    values = dict(values)
    if "betas" in values:
        values["betas"] = tuple(float(b) for b in values["betas"])
    if "init_fresh" in values:
        values["init_fresh"] = tuple(str(m) for m in values["init_fresh"])
    return cls(**values)


SECTIONS = {"data": DataConfig, "masks": MaskConfig, "loss": LossWeights, "optim": OptimConfig, "train": TrainConfig,
            "comparison": ComparisonConfig}


def config_from_dict(raw: dict[str, Any]) -> Config:
    raw = dict(raw)
    if "name" not in raw:
        raise ConfigError("The configuration needs a 'name' (the model name the weights are exported as).")
    parts = {key: _build(cls, raw.pop(key, {}), key) for key, cls in SECTIONS.items()}
    top = {f.name for f in fields(Config)} - set(SECTIONS)
    unknown = set(raw) - top
    if unknown:
        raise ConfigError(f"Unknown top-level keys: {', '.join(sorted(unknown))}.")
    _check_choices(parts["loss"])
    config = Config(**raw, **parts)
    check_architecture(config)
    return config


def check_architecture(config: Config) -> None:
    """Refuse settings that do not apply to the architecture being trained (raises ``ConfigError``).

    A comparison network has no landmark head on a shared encoder (``landmark_warmup``), no image
    branch guided by a share of true landmarks (``guide_truth``; LaFIn's generator is guided by
    ``[comparison] guide``), no coarse fill, and none of NCLG-MT's loss weights or learning rates.
    """
    arch = config.architecture
    if arch not in ARCHITECTURES:
        raise ConfigError(f"architecture = {arch!r}: use one of {', '.join(ARCHITECTURES)}.")
    if not config.is_comparison:
        if config.comparison != ComparisonConfig():
            raise ConfigError("[comparison] applies only to the comparison networks (architecture = "
                              f"{', '.join(repr(a) for a in ARCHITECTURES[1:])}), not to {NCLG_MT}.")
        return
    refused = {
        "train.landmark_warmup": (config.train.landmark_warmup != 0,
                                  f"warms up NCLG-MT's landmark head on its frozen shared encoder; {arch} has no such "
                                  "head"),
        "train.guide_truth": (config.train.guide_truth != 0,
                              f"guides NCLG-MT's image branch with a share of true landmarks; {arch} has no such branch"
                              + (" (LaFIn's generator is guided by [comparison] guide)" if arch == "lafin" else "")),
        "coarse_fill": (config.coarse_fill != "none", f"is a coarse stage of NCLG-MT; {arch} has none"),
        "landmark_head": (config.landmark_head != "paper", f"is NCLG-MT's landmark head; {arch} has none"),
        "landmark_sigma": (config.landmark_sigma != 0,
                           "is NCLG-MT's landmark feedback" + (" (LaFIn's is [comparison] network = "
                                                               "{ landmark_sigma = ... })" if arch == "lafin" else "")),
        "lip_prior": (bool(config.lip_prior), f"is NCLG-MT's lip template; {arch} has none"),
        "lip_prior_gain": (config.lip_prior_gain != 1.0, f"scales NCLG-MT's lip template; {arch} has none"),
        "[loss]": (config.loss != LossWeights(), f"holds NCLG-MT's loss weights; {arch}'s are [comparison] weights"),
        "optim.g_lr / d_lr / betas": (
            (config.optim.g_lr, config.optim.d_lr, tuple(config.optim.betas))
            != (OptimConfig.g_lr, OptimConfig.d_lr, OptimConfig.betas),
            f"are NCLG-MT's learning rates; {arch}'s are [comparison] lr, d_lr_ratio and betas"),
    }
    for key, (is_set, why) in refused.items():
        if is_set:
            raise ConfigError(f"{key} {why}: remove it from the {arch} configuration.")
    comparison = config.comparison
    if comparison.phase != "separate" and arch != "edgeconnect":
        raise ConfigError(f"[comparison] phase is EdgeConnect's; {arch} has no phases.")
    if comparison.guide != "truth" and arch != "lafin":
        raise ConfigError(f"[comparison] guide is LaFIn's; {arch} draws from no landmarks.")
    if comparison.lr is not None and not comparison.lr > 0:
        raise ConfigError(f"[comparison] lr = {comparison.lr}: use a positive learning rate.")


LOSS_CHOICES = {"l1_mode": ("lafin", "hole"), "landmark_mode": ("l2", "l1"), "adversarial_mode": ("image", "hole")}


def _check_choices(loss: LossWeights) -> None:
    """A misspelt mode would otherwise surface as an error hours into a run, or not at all."""
    for key, allowed in LOSS_CHOICES.items():
        if getattr(loss, key) not in allowed:
            raise ConfigError(f"[loss] {key} = {getattr(loss, key)!r}: use one of {', '.join(allowed)}.")


def load_config(path: Path | str, overrides: dict[str, Any] | None = None) -> Config:
    """Read a TOML config; ``overrides`` maps dotted keys ("train.steps") to values."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"Cannot read config {path}: {exc}") from exc
    for dotted, value in (overrides or {}).items():
        node = raw
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return config_from_dict(raw)


def generator_kwargs(config: Config | dict[str, Any]) -> dict[str, Any]:
    """The generator's constructor arguments, as the model card records them."""
    raw = config.to_dict() if isinstance(config, Config) else config
    kwargs = {"width": raw["width"], "coarse_fill": raw.get("coarse_fill", "none")}
    if raw.get("landmark_head", "paper") != "paper":
        kwargs["landmark_head"] = raw["landmark_head"]
    if raw.get("landmark_sigma", 0.0):
        kwargs["landmark_sigma"] = float(raw["landmark_sigma"])
    if raw.get("lip_prior_gain", 1.0) != 1.0:
        kwargs["prior_gain"] = float(raw["lip_prior_gain"])
    return kwargs


def comparison_network_kwargs(config: Config | dict[str, Any]) -> dict[str, Any]:
    """A comparison network's constructor arguments, as the model card records them."""
    raw = config.to_dict() if isinstance(config, Config) else config
    return {"width": raw["width"], **(raw.get("comparison") or {}).get("network", {})}


def resolve(path: str | Path) -> Path:
    """A config path relative to the repository root."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else (REPO_ROOT / p)


def with_loss(config: Config, **weights: float) -> Config:
    return replace(config, loss=replace(config.loss, **weights))


def parse_override(text: str) -> tuple[str, Any]:
    """``key=value`` from the command line; the value is parsed as TOML (numbers, booleans, strings)."""
    if "=" not in text:
        raise ConfigError(f"Override {text!r} must look like section.key=value.")
    key, value = text.split("=", 1)
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    return key.strip(), parsed
