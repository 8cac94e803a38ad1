"""Config files: the shipped ones load, unknown keys and bad overrides are clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.config import load_config, parse_override
from training.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[1] / "training" / "configs"


@pytest.mark.parametrize("name", ["nclg-mt", "nclg-mt-lite-stage1", "nclg-mt-lite", "nclg-mt-lite-infant"])
def test_shipped_configs_load_with_paper_weights(name: str) -> None:
    config = load_config(CONFIGS / f"{name}.toml")
    assert config.name == name
    assert (config.loss.adversarial, config.loss.landmark, config.loss.tv) == (0.01, 0.00046, 0.1)
    assert (config.loss.perceptual, config.loss.style) == (0.1, 0.1)
    assert config.optim.betas == (0.0, 0.9) and config.optim.decay == 0.78


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
