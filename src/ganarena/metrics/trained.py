"""A trained run rebuilt from its checkpoint alone, for src/eval.py and src/sample.py.

    run = load_trained("logs/runs/<run>/checkpoints/last.ckpt")
    run.module.generator, run.datamodule, run.cfg, run.iteration
    device = device_for("auto")      # the GPU when there is one: accelerator= of eval.py / sample.py

The checkpoint holds the run's resolved config (`ckpt["config"]`); the DataModule and the
GANModule are built from it by experiment.py's builders, exactly as training built them, and
the saved weights are loaded into the module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from ganarena.checkpointing import check_state_fits, read_checkpoint
from ganarena.module import GANModule


@dataclass
class TrainedRun:
    path: Path
    cfg: DictConfig
    datamodule: object
    module: GANModule
    iteration: int


def load_trained(ckpt_path: str | Path) -> TrainedRun:
    from ganarena.experiment import build_module  # experiment.py imports this package: import when called

    path = Path(ckpt_path)
    checkpoint = read_checkpoint(path)
    cfg = OmegaConf.create(checkpoint["config"])
    datamodule = instantiate(cfg.data)
    module = build_module(cfg, tuple(datamodule.shape))
    check_state_fits(checkpoint, module, path)
    module.load_state_dict(checkpoint["state_dict"])
    return TrainedRun(path, cfg, datamodule, module.eval(), checkpoint["iteration"])


def device_for(accelerator: str) -> torch.device:
    """auto: the GPU when there is one, else the CPU; gpu means cuda; any other torch device name as is."""
    if accelerator == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device("cuda" if accelerator == "gpu" else accelerator)
