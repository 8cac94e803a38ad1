"""The torchrun/DDP path on CPU: two gloo processes run a couple of steps and stay in sync."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from test_training_support import mini_setup, tiny_config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, paths: tuple[Path, Path, Path], run: Path, out: Path,
            warmup: int = 0) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank),
                      LOCAL_RANK=str(rank))
    from training.loop import Trainer

    config = tiny_config(*paths, landmark_warmup=warmup, landmark_warmup_batch=2) if warmup else tiny_config(*paths)
    trainer = Trainer(config, run, resume=False, device=torch.device("cpu"), progress=False)
    assert trainer.dist.enabled and trainer.dist.world_size == world
    trainer.train(2)
    torch.save({k: v.detach().clone() for k, v in trainer.g.named_parameters()}, out / f"g{rank}.pt")
    trainer.close()


@pytest.mark.slow
def test_two_process_gloo_training_keeps_generators_identical(tmp_path: Path) -> None:
    paths = mini_setup(tmp_path)
    port = _free_port()
    mp.spawn(_worker, args=(2, port, paths, tmp_path / "run", tmp_path), nprocs=2, join=True)
    g0 = torch.load(tmp_path / "g0.pt", weights_only=True)
    g1 = torch.load(tmp_path / "g1.pt", weights_only=True)
    start = torch.load(tmp_path / "run" / "state.pt", weights_only=True)
    assert start["step"] == 2
    # each rank seeds its own initial weights and draws its own batches: only DDP keeps them equal
    for key in g0:  # parameters (not BatchNorm running statistics, which stay per process)
        assert torch.allclose(g0[key], g1[key], atol=1e-6), key  # DDP averaged the gradients


@pytest.mark.slow
def test_landmark_warmup_steps_keep_generators_identical(tmp_path: Path) -> None:
    """The warm-up calls the generator's methods, not its forward, so DDP's hooks do not average them."""
    paths = mini_setup(tmp_path)
    mp.spawn(_worker, args=(2, _free_port(), paths, tmp_path / "run", tmp_path, 2), nprocs=2, join=True)
    g0 = torch.load(tmp_path / "g0.pt", weights_only=True)
    g1 = torch.load(tmp_path / "g1.pt", weights_only=True)
    for key in g0:
        assert torch.allclose(g0[key], g1[key], atol=1e-6), key
