"""A trained generator rebuilt from a checkpoint or an export alone, for src/eval.py and src/sample.py.

    run = load_trained("logs/runs/<run>/checkpoints/last.ckpt")    # or an exported gen.safetensors
    run.generator, run.datamodule, run.cfg, run.iteration
    device = device_for("auto")      # the GPU when there is one: accelerator= of eval.py / sample.py

A checkpoint (or an export, see ganarena/sharing.py) holds the run's resolved config. It is
checked first (checkpointing.checked_config: only conf/'s classes, every needed section), then
the DataModule and the networks are built from it by experiment.py's builders, exactly as
training built them, and the saved weights are loaded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from ganarena.checkpointing import check_state_fits, checked_config, read_checkpoint
from ganarena.sharing import read_export

EXPORT_SUFFIX = ".safetensors"


@dataclass
class TrainedRun:
    path: Path
    cfg: DictConfig
    datamodule: object
    generator: torch.nn.Module
    iteration: int


def load_trained(ckpt_path: str | Path, ignored: Iterable[str] = ()) -> TrainedRun:
    """`ignored`: dotted config keys the caller sets itself or does not use (see checked_config)."""
    from ganarena.experiment import build_module  # experiment.py imports this package: import when called

    path = Path(ckpt_path)
    if path.suffix == EXPORT_SUFFIX:
        export = read_export(path)
        stored, state, iteration = export.config, export.weights, export.iteration
    else:
        checkpoint = read_checkpoint(path)
        stored, state, iteration = checkpoint["config"], checkpoint["state_dict"], checkpoint["iteration"]
    cfg = OmegaConf.create(checked_config(stored, path, ignored))
    datamodule = instantiate(cfg.data)
    if path.suffix == EXPORT_SUFFIX:
        network = instantiate(cfg.model.generator, data_shape=tuple(datamodule.shape))
    else:
        network = build_module(cfg, tuple(datamodule.shape))
    check_state_fits({"state_dict": state}, network, path)
    network.load_state_dict(state)
    generator = network if path.suffix == EXPORT_SUFFIX else network.generator
    return TrainedRun(path, cfg, datamodule, generator.eval(), iteration)


def device_for(accelerator: str) -> torch.device:
    """auto: the GPU when there is one, else the CPU; gpu means cuda; any other torch device name as is."""
    if accelerator == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device("cuda" if accelerator == "gpu" else accelerator)
