"""Shared helpers: compose the real configs, build runs from them, run src/train.py."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import lightning as L
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

import ganarena.run  # noqa: F401  (registers the config resolvers that compose_config needs)
from ganarena.run.build import build_run

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "conf"

QUIET = ["trainer.enable_progress_bar=false", "+trainer.enable_model_summary=false"]
# A tiny, quiet CPU budget; tests add their own overrides after these.
FAST = [
    "trainer.accelerator=cpu",
    *QUIET,
    "logger=csv",
    "batch_size=16",
]


# A small 2-D model for the toy sets.
TINY_MLP = ["model.generator.hidden=32", "model.critic.hidden=32", "model.generator.depth=2", "model.critic.depth=2"]


def compose_config(overrides: list[str], output_dir: Path | str = "unused") -> DictConfig:
    """The config src/train.py would see, with the hydra-only keys filled in."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(
            config_name="train",
            overrides=[f"paths.output_dir={output_dir}", "run_name=test", *overrides],
        )


def fit(overrides: list[str], tmp_path, steps: int = 3):
    """Train `steps` iterations of the composed run in this process: (module, trainer, weights before)."""
    cfg = compose_config([*FAST, f"trainer.max_steps={steps}", "trainer.log_every_n_steps=1", *overrides], tmp_path)
    L.seed_everything(cfg.seed)
    datamodule, module, trainer = build_run(cfg)
    before = copy.deepcopy(module.state_dict())
    trainer.fit(module, datamodule=datamodule)
    return module, trainer, before


def run_train_script(args: list[str], cwd: Path, timeout: int = 300, env: dict | None = None, check: bool = True):
    """Run `python src/train.py ARGS` from `cwd` (so logs/ lands there) and return the result.

    `env` adds variables; a value of None removes one. With `check`, a failed run fails the test.
    """
    full_env = {**os.environ, "WANDB_MODE": "offline", "PYTHONUNBUFFERED": "1", **(env or {})}
    full_env = {k: v for k, v in full_env.items() if v is not None}
    result = subprocess.run(
        [sys.executable, str(REPO / "src" / "train.py"), *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        pytest.fail(f"train.py {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
    return result


@pytest.fixture(autouse=True)
def _offline_wandb(monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
