"""Config files: the shipped ones load, unknown keys and bad overrides are clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.config import load_config, parse_override
from training.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[1] / "training" / "configs"


@pytest.mark.parametrize("name", ["nclg-mt", "nclg-mt-lite-stage1", "nclg-mt-lite-stage2"])
def test_shipped_configs_load_with_paper_weights(name: str) -> None:
    config = load_config(CONFIGS / f"{name}.toml")
    assert config.name == name
    assert (config.loss.adversarial, config.loss.landmark, config.loss.tv) == (0.01, 0.00046, 0.1)
    assert (config.loss.perceptual, config.loss.style) == (0.1, 0.1)
    assert config.optim.betas == (0.0, 0.9) and config.optim.decay == 0.78


@pytest.mark.parametrize(("name", "adversarial", "mode", "mouth_l1", "feature_matching"), [
    ("nclg-mt-lite", 0.02, "hole", 1.0, 20.0), ("nclg-mt-lite-infant", 0.01, "image", 0.0, 1.0)])
def test_lip_prior_configs_keep_the_paper_weights_but_the_documented_terms(
        name: str, adversarial: float, mode: str, mouth_l1: float, feature_matching: float) -> None:
    """Stage 3 changes the landmark loss (mean point distance, not the paper's L2). The all-ages config holds
    the settings of its last segment (hole-aware adversarial 0.02, lip L1, feature matching 20: its header and
    docs/reports/experiments say why); the infant fine-tune keeps the paper's adversarial term."""
    from training.config import generator_kwargs

    config = load_config(CONFIGS / f"{name}.toml")
    assert config.name == name
    assert (config.loss.adversarial, config.loss.adversarial_mode) == (adversarial, mode)
    assert (config.loss.mouth_l1, config.loss.feature_matching, config.loss.edge) == (mouth_l1, feature_matching, 0.0)
    assert (config.loss.tv, config.loss.perceptual, config.loss.style) == (0.1, 0.1, 0.1)
    assert config.loss.landmark_mode == "l1" and config.optim.betas == (0.0, 0.9)
    assert generator_kwargs(config) == {"width": 0.25, "coarse_fill": "lip_prior", "landmark_head": "heatmap",
                                        "landmark_sigma": 1.5}


def test_overrides_and_unknown_keys(tmp_path: Path) -> None:
    config = load_config(CONFIGS / "nclg-mt-lite.toml", dict([parse_override("data.resolution=256"),
                                                              parse_override("train.batch_size=4")]))
    assert config.data.resolution == 256 and config.train.batch_size == 4
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[train]\nbatchsize = 3\n')
    with pytest.raises(ConfigError, match="batchsize"):
        load_config(bad)
    with pytest.raises(ConfigError, match="name"):
        (tmp_path / "noname.toml").write_text("[train]\nsteps = 3\n")
        load_config(tmp_path / "noname.toml")
    with pytest.raises(ConfigError):
        parse_override("no-equals-sign")
