"""Weights & Biases that never prompts or hangs, and the W&B group of a sweep job.

    logger = wandb_logger(save_dir, mode="auto", project="ganarena")   # conf/logger/wandb.yaml

Online with credentials and a reachable server, offline (sync later) otherwise, saying once why.
Each run is closed when training ends, so every job of a multirun gets its own W&B run.
"""

from __future__ import annotations

import netrc
import os
import socket
from urllib.parse import urlparse

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
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


def sweep_group() -> str | None:
    """The W&B group of a multirun job: its sweep directory's name. None for a single run."""
    if not HydraConfig.initialized():
        return None
    hydra = HydraConfig.get()
    return os.path.basename(hydra.sweep.dir) if hydra.mode == RunMode.MULTIRUN else None


def wandb_server_unreachable(timeout: float = 3.0) -> str | None:
    """Why the W&B server cannot be reached (a short reason), or None when a connection opens."""
    url = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai"))
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=timeout).close()
    except OSError as error:
        return f"cannot reach {url.hostname}:{port} ({error})"
    return None


class ClosingWandbLogger(WandbLogger):
    """Finishes its W&B run when training ends, so each job of a multirun gets its own run."""

    def finalize(self, status: str) -> None:
        super().finalize(status)
        if self._experiment is not None:
            self._experiment.finish(exit_code=0 if status == "success" else 1)
            self._experiment = None


def wandb_logger(save_dir: str, mode: str = "auto", **kwargs) -> WandbLogger:
    """A WandbLogger whose `mode` "auto" means: $WANDB_MODE if set, else online with credentials.

    An online run whose server does not answer within a few seconds logs offline instead.
    """
    reason = None
    if mode == "auto":
        mode = os.environ.get("WANDB_MODE") or "online"
        if mode == "online" and not wandb_credentials_present():
            mode, reason = "offline", "no credentials found"
    if mode == "online" and (unreachable := wandb_server_unreachable()):
        mode, reason = "offline", unreachable
    if mode == "offline":
        rank_zero_info(
            f"W&B: {reason or 'offline mode'}; logging offline under {save_dir}/wandb;"
            f" upload later with `wandb sync {save_dir}/wandb/offline-run-*`"
        )
    os.makedirs(save_dir, exist_ok=True)
    # A run without overrides has an empty override string; W&B then names the run itself.
    kwargs["name"] = kwargs.get("name") or None
    return ClosingWandbLogger(save_dir=save_dir, mode=mode, **kwargs)
