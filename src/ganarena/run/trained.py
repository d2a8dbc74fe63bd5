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

from collections.abc import Callable, Iterable
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


@dataclass
class StoredRun:
    """What one file format holds, and how to rebuild the network its weights fit."""

    config: dict
    weights: dict[str, torch.Tensor]
    iteration: int
    averaged: bool
    build: Callable[[DictConfig, tuple[int, ...]], torch.nn.Module]
    generator_of: Callable[[torch.nn.Module], torch.nn.Module]


def read_exported_run(path: Path) -> StoredRun:
    export = read_export(path)
    # The average has the generator's keys: it is loaded in place of the trained weights.
    return StoredRun(
        export.config,
        export.ema_weights or export.weights,
        export.iteration,
        averaged=bool(export.ema_weights),
        build=lambda cfg, shape: instantiate(cfg.model.generator, data_shape=shape),
        generator_of=lambda network: network,
    )


def read_checkpointed_run(path: Path) -> StoredRun:
    checkpoint = read_checkpoint(path)
    averaged = any(name.startswith("generator_ema.") for name in checkpoint["state_dict"])
    return StoredRun(
        checkpoint["config"],
        checkpoint["state_dict"],
        checkpoint["iteration"],
        averaged,
        build=build_module,
        generator_of=lambda module: module.generator_ema if averaged else module.generator,
    )


def load_trained(ckpt_path: str | Path, ignored: Iterable[str] = ()) -> TrainedRun:
    """`ignored`: dotted config keys the caller sets itself or does not use (see checked_config)."""
    path = Path(ckpt_path)
    stored = (read_exported_run if path.suffix == EXPORT_SUFFIX else read_checkpointed_run)(path)
    cfg = OmegaConf.create(checked_config(stored.config, path, ignored))
    datamodule = instantiate(cfg.data)
    network = stored.build(cfg, tuple(datamodule.shape))
    check_state_fits({"state_dict": stored.weights}, network, path)
    network.load_state_dict(stored.weights)
    generator = stored.generator_of(network).eval()
    return TrainedRun(path, cfg, datamodule, generator, stored.iteration, stored.averaged)
