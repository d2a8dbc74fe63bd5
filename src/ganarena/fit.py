"""Run one experiment from a composed config: check it, find what it continues from, build, fit.

train(cfg)     # what src/train.py does inside Hydra; tests call it with composed configs
"""

from __future__ import annotations

import lightning as L
from hydra.errors import InstantiationException
from omegaconf import DictConfig

from ganarena.checkpointing import check_state_fits
from ganarena.errors import user_error_behind
from ganarena.experiment import build_run
from ganarena.resume import checkpoint_to_continue
from ganarena.validation import check_config


def train(cfg: DictConfig):
    """Train the run `cfg` describes and return its (datamodule, module, trainer)."""
    check_config(cfg)
    ckpt_path, checkpoint = checkpoint_to_continue(cfg)
    L.seed_everything(cfg.seed, workers=True)
    try:
        datamodule, module, trainer = build_run(cfg, checkpoint)
    except InstantiationException as error:
        # Hydra wraps what a constructor raises; a user-facing error is worth more unwrapped.
        if (user_error := user_error_behind(error)) is not None:
            raise user_error from None
        raise
    if checkpoint is not None:
        check_state_fits(checkpoint, module, ckpt_path)
    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    return datamodule, module, trainer
