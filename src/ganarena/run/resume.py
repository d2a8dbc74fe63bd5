"""Where a run continues from: `ckpt_path=FILE`, `resume=RUN_DIR` or `resume=auto`.

    ckpt_path=FILE    continue from a checkpoint file; outputs go to the new run directory
    resume=RUN_DIR    continue RUN_DIR's run in place, from RUN_DIR/checkpoints/last.ckpt
    resume=auto       continue this run directory's run if it has a last.ckpt, else start
                      afresh: for a fixed hydra.run.dir, e.g. a requeued SLURM job

The checkpoint is read and checked before any work starts (readable, written by ganarena, same
networks, loss, constraints and optimizers as the command line asks for), and the W&B run it
logged to continues under the same id, so its curves carry on rather than restart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning.pytorch.utilities import rank_zero_info
from omegaconf import DictConfig, OmegaConf, open_dict

from ganarena.errors import CheckpointError, ConfigError
from ganarena.run.checkpoints import read_checkpoint
from ganarena.run.loggers import ClosingWandbLogger

LAST_CHECKPOINT = Path("checkpoints") / "last.ckpt"


def checkpoint_to_continue(cfg: DictConfig) -> tuple[str, dict[str, Any]] | tuple[None, None]:
    """The checkpoint path and contents this run continues from, or (None, None) for a fresh run.

    For `resume=RUN_DIR` the run's outputs are redirected to RUN_DIR; a W&B logger in the
    config is pointed at the checkpoint's W&B run.
    """
    path = _checkpoint_path(cfg)
    if path is None:
        return None, None
    current = OmegaConf.to_container(cfg, resolve=True)
    checkpoint = read_checkpoint(path, expected_config=current)
    wandb_id = checkpoint.get("logger_versions", {}).get(ClosingWandbLogger.__name__)
    if wandb_id and "wandb" in (cfg.logger or {}):
        with open_dict(cfg):
            cfg.logger.wandb.id = wandb_id
            cfg.logger.wandb.resume = "allow"
    rank_zero_info(f"continuing from {path} (iteration {checkpoint['iteration']})")
    return str(path), checkpoint


def _checkpoint_path(cfg: DictConfig) -> Path | None:
    resume = cfg.get("resume")
    if resume is not None and cfg.ckpt_path is not None:
        raise ConfigError("give either ckpt_path=FILE or resume=RUN_DIR|auto, not both")
    if cfg.ckpt_path is not None:
        return Path(cfg.ckpt_path)
    if resume is None:
        return None
    if resume == "auto":
        path = Path(cfg.paths.output_dir) / LAST_CHECKPOINT
        return path if path.is_file() else None
    run_dir = Path(resume)
    path = run_dir / LAST_CHECKPOINT
    if not path.is_file():
        raise CheckpointError(
            f"resume={resume}: {path} does not exist; give the directory of a run that saved"
            " checkpoints (logs/runs/<date>/<time>), or ckpt_path=FILE for another checkpoint"
        )
    cfg.paths.output_dir = str(run_dir)
    return path
