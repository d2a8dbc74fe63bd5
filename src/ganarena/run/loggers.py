"""Loggers that survive real runs.

Weights & Biases never prompts or hangs: online with credentials and a reachable server, offline
(sync later) otherwise, saying once why. The CSV log of a run continued in its own directory
keeps the rows written before the checkpoint it continues from.
"""

from __future__ import annotations

import csv
import netrc
import os
import socket
from urllib.parse import urlparse

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.pytorch.loggers import CSVLogger, WandbLogger
from lightning.pytorch.utilities import rank_zero_info, rank_zero_only


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


class ContinuingCSVLogger(CSVLogger):
    """CSVLogger that keeps what an earlier process of the same run logged before this one's first step.

    Lightning's CSVLogger deletes an existing metrics.csv. A run resumed in place instead keeps
    the earlier rows up to the step it resumes at; rows logged after the checkpoint by the
    interrupted process are dropped, as the resumed run logs those steps again.
    """

    def __init__(self, save_dir: str, **kwargs):
        super().__init__(save_dir, **kwargs)
        path = os.path.join(self.log_dir, "metrics.csv")
        self._earlier_rows: list[dict[str, str]] | None = None
        if os.path.isfile(path):
            with open(path, newline="") as file:
                self._earlier_rows = list(csv.DictReader(file))

    @rank_zero_only
    def log_metrics(self, metrics, step=None):
        if self._earlier_rows is not None and step is not None:
            kept = [row for row in self._earlier_rows if int(row["step"]) < step]
            self.experiment.metrics[:0] = [{k: v for k, v in row.items() if v != ""} for row in kept]
            self._earlier_rows = None
        super().log_metrics(metrics, step)
