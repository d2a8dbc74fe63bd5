"""Run one experiment from a composed config: check it, find what it continues from, build, fit.

train(cfg)     # what src/train.py does inside Hydra; tests call it with composed configs
"""

from __future__ import annotations

import lightning as L
from omegaconf import DictConfig

from ganarena.run.build import build_run
from ganarena.run.checkpoints import check_state_fits
from ganarena.run.config_checks import check_config
from ganarena.run.resume import checkpoint_to_continue


def train(cfg: DictConfig):
    """Train the run `cfg` describes and return its (datamodule, module, trainer)."""
    check_config(cfg)
    ckpt_path, checkpoint = checkpoint_to_continue(cfg)
    L.seed_everything(cfg.seed, workers=True)
    datamodule, module, trainer = build_run(cfg)
    if checkpoint is not None:
        check_state_fits(checkpoint, module, ckpt_path)
    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    return datamodule, module, trainer
