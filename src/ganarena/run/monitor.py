"""TrainingMonitor: after every iteration, check for NaN/inf and hand the losses to the loggers.

    trainer = Trainer(callbacks=[TrainingMonitor(), ...])   # build_run puts it first
    confirm_finite(trainer)     # before scoring or drawing the generator; raises NonFiniteError

`GANModule.training_step` returns its detached losses. The monitor reduces them over the ranks
together with a checksum of each network's weights (one collective), so a NaN on any rank stops
every rank at once, and hands them to a `FiniteGuard`. The checked means go to the loggers and
the progress bar every `trainer.log_every_n_steps` iterations, straight from the guard's host
copy. Before any checkpoint is written the pending readings are confirmed, so a checkpoint never
holds a broken state.
"""

from __future__ import annotations

import lightning as L
import torch
from torch import Tensor, nn

from ganarena.run.finite_guard import FiniteGuard

SHOWN_IN_PROGRESS_BAR = ("critic_loss", "generator_loss")


class TrainingMonitor(L.Callback):
    def __init__(self, deferred: bool | None = None):
        """`deferred`: see FiniteGuard (by default, checks wait one iteration exactly on a GPU)."""
        self.guard = FiniteGuard(advice=self._stop_advice, on_checked=self._log_readings, deferred=deferred)
        self._trainer: L.Trainer | None = None

    def setup(self, trainer, pl_module, stage) -> None:
        self._trainer = trainer

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        # One stacked tensor from the losses to the guard: on a small network every extra op is host time.
        names = [*outputs, "generator weights", "critic weights"]
        checksums = weight_checksums(pl_module.generator, pl_module.critic)
        values = torch.cat([torch.stack(list(outputs.values())), checksums])
        self.guard.submit_stacked(pl_module.iteration, names, trainer.strategy.reduce(values, reduce_op="mean"))
        if pl_module.iteration % max(trainer.log_every_n_steps, 1) == 0:
            # At the loggers' pace rather than every iteration: each `log` call costs host time.
            shown = {name: self.guard.latest.get(f"train/{name}") for name in SHOWN_IN_PROGRESS_BAR}
            shown = {name: value for name, value in shown.items() if value is not None}
            pl_module.log_dict(shown, prog_bar=True, logger=False)

    def on_save_checkpoint(self, trainer, pl_module, checkpoint) -> None:
        self.guard.confirm()

    def on_train_end(self, trainer, pl_module) -> None:
        self.guard.confirm()

    def _log_readings(self, iteration: int, readings: dict[str, Tensor]) -> None:
        trainer = self._trainer
        every = trainer.log_every_n_steps
        if not every or iteration % every:
            return
        metrics = {name: value.item() for name, value in readings.items() if name.startswith("train/")}
        for logger in trainer.loggers:
            # Lightning's step for training rows: the 0-based index of the iteration.
            logger.log_metrics({"epoch": trainer.current_epoch, **metrics}, step=iteration - 1)

    def _stop_advice(self) -> str:
        path = getattr(self._trainer.checkpoint_callback, "last_model_path", "") if self._trainer else ""
        saved = f"the last good checkpoint is {path}." if path else "no checkpoint had been written yet."
        return (
            f"Training stopped before anything was saved; {saved} Lower the learning rates, add a"
            " Lipschitz constraint or use a bounded loss, then resume or restart."
        )


def training_monitor(trainer: L.Trainer) -> TrainingMonitor | None:
    """The trainer's TrainingMonitor, or None when it has none."""
    return next((c for c in trainer.callbacks if isinstance(c, TrainingMonitor)), None)


def confirm_finite(trainer: L.Trainer) -> None:
    """Check the pending readings now (on every rank): never score, draw or keep broken weights."""
    monitor = training_monitor(trainer)
    if monitor is not None:
        monitor.guard.confirm()


def weight_checksums(*networks: nn.Module) -> Tensor:
    """weight_checksum of each network, as one vector, from one fused kernel over all their parameters."""
    parameters = [list(network.parameters()) for network in networks]
    with torch.no_grad():
        norms = torch.stack(torch._foreach_norm([p for group in parameters for p in group], 1))
        return torch.stack([part.sum() for part in norms.split([len(group) for group in parameters])]).float()


def weight_checksum(network: nn.Module) -> Tensor:
    """Sum of all weights' magnitudes: finite exactly when every weight is (barring overflow past 1e38).

    One fused kernel for all parameters: `get_total_norm` spends more host time grouping tensors
    by device and dtype than the kernels take for a small network.
    """
    with torch.no_grad():
        return torch.stack(torch._foreach_norm(list(network.parameters()), 1)).sum().float()
