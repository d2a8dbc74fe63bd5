"""Weights & Biases that never prompts or hangs: online with credentials, offline without."""

from __future__ import annotations

import netrc
import os
from urllib.parse import urlparse

from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_info


def wandb_credentials_present() -> bool:
    """True when W&B can log in without asking: an API key in the environment or in ~/.netrc."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname
    try:
        return netrc.netrc().authenticators(host) is not None
    except (FileNotFoundError, netrc.NetrcParseError):
        return False


class ClosingWandbLogger(WandbLogger):
    """Finishes its W&B run when training ends, so each job of a multirun gets its own run."""

    def finalize(self, status: str) -> None:
        super().finalize(status)
        if self._experiment is not None:
            self._experiment.finish(exit_code=0 if status == "success" else 1)
            self._experiment = None


def wandb_logger(save_dir: str, mode: str = "auto", **kwargs) -> WandbLogger:
    """A WandbLogger whose `mode` "auto" means: $WANDB_MODE if set, else online with credentials."""
    if mode == "auto":
        mode = os.environ.get("WANDB_MODE") or ("online" if wandb_credentials_present() else "offline")
    if mode == "offline":
        rank_zero_info(
            f"W&B: no credentials found, logging offline under {save_dir}/wandb;"
            f" upload later with `wandb sync {save_dir}/wandb/offline-run-*`"
        )
    os.makedirs(save_dir, exist_ok=True)
    # A run without overrides has an empty override string; W&B then names the run itself.
    kwargs["name"] = kwargs.get("name") or None
    return ClosingWandbLogger(save_dir=save_dir, mode=mode, **kwargs)
