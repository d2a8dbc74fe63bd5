"""Every private Lightning name ganarena relies on, in one place.

    ddp_kwargs(strategy)                   what a DDPStrategy passes on to DistributedDataParallel
    last_saved_step(checkpoint_callback)   the global step of a ModelCheckpoint's latest save
    save_last_now(checkpoint_callback, trainer)   write its last.ckpt now
    state_key(callback, **keys)            a callback's checkpoint key, told apart by `keys`
    start_next_epoch_if_finished(checkpoint)   a checkpoint taken after an epoch's last batch resumes at the next epoch
    counted_step(lightning_optimizer, step)   run `step` as the loop's counted optimiser step
    model_averager(strategy)               a DDPStrategy's post-local-SGD averager, or None

`GANDDPStrategy` also overrides `DDPStrategy._setup_model`. `PRIVATE_NAMES` lists each
(class, name) pair and CHECKPOINT_LOOP_KEYS the loop state read from checkpoints;
tests/test_lightning_private.py fails, naming the symbol, when a Lightning
upgrade removes one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.core.optimizer import LightningOptimizer
from lightning.pytorch.strategies import DDPStrategy

PRIVATE_NAMES: tuple[tuple[type, str], ...] = (
    (DDPStrategy, "_setup_model"),
    (DDPStrategy, "_ddp_kwargs"),
    (ModelCheckpoint, "_last_global_step_saved"),
    (ModelCheckpoint, "_save_last_checkpoint"),
    (ModelCheckpoint, "_monitor_candidates"),
    (Callback, "_generate_state_key"),
    (LightningOptimizer, "_on_before_step"),
    (LightningOptimizer, "_on_after_step"),
    (DDPStrategy, "_model_averager"),
)
# Where a checkpoint keeps the training epoch loop's batch counters (Lightning's loop state_dict).
CHECKPOINT_LOOP_KEYS = ("loops", "fit_loop", "epoch_loop.batch_progress")


def ddp_kwargs(strategy: DDPStrategy) -> dict[str, Any]:
    return strategy._ddp_kwargs


def last_saved_step(checkpoint_callback: ModelCheckpoint) -> int:
    return checkpoint_callback._last_global_step_saved


def save_last_now(checkpoint_callback: ModelCheckpoint, trainer: L.Trainer) -> None:
    checkpoint_callback._save_last_checkpoint(trainer, checkpoint_callback._monitor_candidates(trainer))


def state_key(callback: Callback, **keys: Any) -> str:
    return callback._generate_state_key(**keys)


def start_next_epoch_if_finished(checkpoint: dict[str, Any]) -> None:
    """Make a checkpoint written after the last batch of an epoch resume at batch 0 of the next one.

    With `max_steps` training Lightning restores such a checkpoint as a restart inside the finished
    epoch: its batch counter stays at the epoch's length, so it takes one batch from the fresh
    epoch's loader, declares the epoch over and opens another, skipping the rest of that epoch's
    batches. Zeroing the current epoch's counters (the totals stay) starts the next epoch whole.
    """
    progress = checkpoint
    for key in CHECKPOINT_LOOP_KEYS:
        progress = progress.get(key) if isinstance(progress, dict) else None
    if not progress or not progress.get("is_last_batch"):
        return
    current = progress["current"]
    if len({current["ready"], current["started"], current["processed"], current["completed"]}) == 1:
        progress["current"] = dict.fromkeys(current, 0)
        progress["is_last_batch"] = False


def counted_step(optimizer: LightningOptimizer, step: Callable[[], Any]) -> None:
    """What LightningOptimizer.step does around the strategy's step: the manual loop counts it (global_step)."""
    optimizer._on_before_step()
    step()
    optimizer._on_after_step()


def model_averager(strategy: DDPStrategy) -> Any:
    return getattr(strategy, "_model_averager", None)
