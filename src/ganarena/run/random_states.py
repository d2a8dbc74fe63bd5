"""RandomStates: every rank's torch random state in checkpoints, restored when a run continues.

    trainer = Trainer(callbacks=[..., RandomStates()])   # build_run adds it

With it a resumed run draws the same noise, real batches and penalty interpolates the
uninterrupted run would have drawn. Under DDP each rank is seeded apart from the others at setup
(Lightning seeds them alike) and each rank gets its own saved state back.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import Tensor


class RandomStates(L.Callback):
    def __init__(self):
        self._to_restore: dict[str, list[Tensor]] | None = None

    def setup(self, trainer, pl_module, stage) -> None:
        if trainer.world_size > 1:
            # Every rank must draw its own noise; the networks stay identical because DDP copies
            # rank 0's weights when it wraps them.
            torch.manual_seed(torch.initial_seed() + trainer.global_rank)

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict[str, Any]) -> None:
        checkpoint["random_states"] = gather_random_states(trainer, pl_module)

    def on_load_checkpoint(self, trainer, pl_module, checkpoint: dict[str, Any]) -> None:
        self._to_restore = checkpoint.get("random_states")

    def on_train_start(self, trainer, pl_module) -> None:
        # Restored here rather than on load: nothing between this hook and the first step draws.
        states, self._to_restore = self._to_restore, None
        if states is None:
            return
        rank = trainer.global_rank
        if len(states["cpu"]) != trainer.world_size:
            # Another number of ranks than when saved: continue from rank 0's state, distinct per rank.
            torch.set_rng_state(states["cpu"][0])
            torch.manual_seed(int(torch.randint(2**62, ())) + rank)
            return
        torch.set_rng_state(states["cpu"][rank])
        if "cuda" in states and pl_module.device.type == "cuda":
            torch.cuda.set_rng_state(states["cuda"][rank], pl_module.device)


def gather_random_states(trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, list[Tensor]]:
    """Every rank's torch generator states (CPU, and the rank's GPU when it has one), in rank order."""
    local = {"cpu": torch.get_rng_state()}
    if pl_module.device.type == "cuda":
        local["cuda"] = torch.cuda.get_rng_state(pl_module.device)
    if trainer.world_size == 1:
        return {name: [state] for name, state in local.items()}
    gathered = {name: pl_module.all_gather(state.to(pl_module.device)) for name, state in local.items()}
    # clone(): a row of the gathered tensor has a storage offset, and set_rng_state crashes
    # (segfault) on such a view.
    return {name: [row.cpu().clone() for row in states] for name, states in gathered.items()}
