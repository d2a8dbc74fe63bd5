"""A trained run rebuilt from its checkpoint alone, for src/eval.py and src/sample.py.

    run = load_trained("logs/runs/<run>/checkpoints/last.ckpt")
    run.module.generator, run.datamodule, run.cfg, run.iteration

The checkpoint holds the run's resolved config (`ckpt["config"]`); the DataModule and the
GANModule are built from it by run/build.py's builders, exactly as training built them, and
the saved weights are loaded into the module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from ganarena.game.module import GANModule
from ganarena.run.build import build_module
from ganarena.run.checkpoints import check_state_fits, read_checkpoint


@dataclass
class TrainedRun:
    path: Path
    cfg: DictConfig
    datamodule: object
    module: GANModule
    iteration: int


def load_trained(ckpt_path: str | Path) -> TrainedRun:
    path = Path(ckpt_path)
    checkpoint = read_checkpoint(path)
    cfg = OmegaConf.create(checkpoint["config"])
    datamodule = instantiate(cfg.data)
    module = build_module(cfg, tuple(datamodule.shape))
    check_state_fits(checkpoint, module, path)
    module.load_state_dict(checkpoint["state_dict"])
    return TrainedRun(path, cfg, datamodule, module.eval(), checkpoint["iteration"])
