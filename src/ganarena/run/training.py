"""Run one experiment from a composed config: check it, decide what it continues from, build, fit.

datamodule, module, trainer = train(cfg)   # what src/train.py does inside Hydra; tests call it too
"""

from __future__ import annotations

import lightning as L
from omegaconf import DictConfig

from ganarena.run.build import build_run
from ganarena.run.checkpoints import check_state_fits
from ganarena.run.config_checks import check_config
from ganarena.run.resume import plan_resume


def train(cfg: DictConfig):
    """Train the run `cfg` describes and return its (datamodule, module, trainer)."""
    check_config(cfg)
    plan = plan_resume(cfg)
    L.seed_everything(cfg.seed, workers=True)
    datamodule, module, trainer = build_run(plan.applied_to(cfg), plan.checkpoint)
    if plan.checkpoint is not None:
        check_state_fits(plan.checkpoint, module, plan.ckpt_path)
    trainer.fit(module, datamodule=datamodule, ckpt_path=plan.ckpt_path)
    return datamodule, module, trainer
