"""A trained generator rebuilt from a checkpoint or an export alone, for src/eval.py and src/sample.py.

    run = load_trained("logs/runs/<run>/checkpoints/last.ckpt")    # or an exported gen.safetensors
    run.generator, run.datamodule, run.cfg, run.iteration, run.averaged

A checkpoint (or an export, see run/sharing.py) holds the run's resolved config. It is
checked first (stored_config.checked_config: only conf/'s classes, every needed section), then
the DataModule and the networks are built from it by run/build.py's builders, exactly as
training built them, and the saved weights are loaded. When the run kept an averaged generator
(ema=on), `generator` is that average and `averaged` is True: it is the one to evaluate and sample.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from ganarena.run.build import build_module, instantiate
from ganarena.run.checkpoints import check_state_fits, read_checkpoint
from ganarena.run.sharing import read_export
from ganarena.run.stored_config import checked_config

EXPORT_SUFFIX = ".safetensors"


@dataclass
class TrainedRun:
    path: Path
    cfg: DictConfig
    datamodule: object
    generator: torch.nn.Module
    iteration: int
    averaged: bool = False


def load_trained(ckpt_path: str | Path, ignored: Iterable[str] = ()) -> TrainedRun:
    """`ignored`: dotted config keys the caller sets itself or does not use (see checked_config)."""
    path = Path(ckpt_path)
    if path.suffix == EXPORT_SUFFIX:
        export = read_export(path)
        # The average has the generator's keys: load it in place of the trained weights.
        stored, state, iteration = export.config, export.ema_weights or export.weights, export.iteration
        averaged = bool(export.ema_weights)
    else:
        checkpoint = read_checkpoint(path)
        stored, state, iteration = checkpoint["config"], checkpoint["state_dict"], checkpoint["iteration"]
        averaged = any(name.startswith("generator_ema.") for name in state)
    cfg = OmegaConf.create(checked_config(stored, path, ignored))
    datamodule = instantiate(cfg.data)
    if path.suffix == EXPORT_SUFFIX:
        network = instantiate(cfg.model.generator, data_shape=tuple(datamodule.shape))
    else:
        network = build_module(cfg, tuple(datamodule.shape))
    check_state_fits({"state_dict": state}, network, path)
    network.load_state_dict(state)
    generator = network if path.suffix == EXPORT_SUFFIX else network.generator_ema if averaged else network.generator
    return TrainedRun(path, cfg, datamodule, generator.eval(), iteration, averaged)
