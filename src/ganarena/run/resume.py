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

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lightning.pytorch.utilities import rank_zero_info
from omegaconf import DictConfig, OmegaConf, open_dict

from ganarena.errors import CheckpointError, ConfigError
from ganarena.run.checkpoints import read_checkpoint
from ganarena.run.loggers import ClosingWandbLogger

LAST_CHECKPOINT = Path("checkpoints") / "last.ckpt"


@dataclass(frozen=True)
class ResumePlan:
    """What a run continues from and where it writes; `applied_to(cfg)` gives the config to build from."""

    ckpt_path: str | None = None
    checkpoint: dict[str, Any] | None = None
    output_dir: str | None = None  # the directory of the run continued in place (resume=RUN_DIR)
    wandb_id: str | None = None  # the W&B run the checkpoint logged to

    def applied_to(self, cfg: DictConfig) -> DictConfig:
        """A copy of `cfg` writing to the continued run's directory and W&B run; `cfg` is left as it was."""
        updated = copy.deepcopy(cfg)
        with open_dict(updated):
            if self.output_dir is not None:
                updated.paths.output_dir = self.output_dir
            if self.wandb_id and "wandb" in (cfg.get("logger") or {}):
                updated.logger.wandb.id = self.wandb_id
                updated.logger.wandb.resume = "allow"
        return updated


def plan_resume(cfg: DictConfig) -> ResumePlan:
    """What `cfg` asks to continue from, read and checked against it; an empty plan for a fresh run."""
    path = _checkpoint_path(cfg)
    if path is None:
        return ResumePlan()
    current = OmegaConf.to_container(cfg, resolve=True)
    checkpoint = read_checkpoint(path, expected_config=current)
    rank_zero_info(f"continuing from {path} (iteration {checkpoint['iteration']})")
    return ResumePlan(
        ckpt_path=str(path),
        checkpoint=checkpoint,
        output_dir=str(path.parent.parent) if cfg.get("resume") not in (None, "auto") else None,
        wandb_id=checkpoint.get("logger_versions", {}).get(ClosingWandbLogger.__name__),
    )


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
    path = Path(resume) / LAST_CHECKPOINT
    if not path.is_file():
        raise CheckpointError(
            f"resume={resume}: {path} does not exist; give the directory of a run that saved"
            " checkpoints (logs/runs/<date>/<time>), or ckpt_path=FILE for another checkpoint"
        )
    return path
