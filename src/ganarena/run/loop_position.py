"""LoopPosition: a resumed run takes the batch the uninterrupted run would have taken next.

    trainer = Trainer(callbacks=[..., LoopPosition()])   # build_run adds it

The data order is a function of the generator iterations done (data/sampling.py); this callback
keeps Lightning's own count of batches in the epoch in step with it where Lightning's restore
would not (a checkpoint written after the last batch of an epoch).
"""

from __future__ import annotations

from typing import Any

import lightning as L

from ganarena.run.lightning_private import start_next_epoch_if_finished


class LoopPosition(L.Callback):
    def on_load_checkpoint(self, trainer, pl_module, checkpoint: dict[str, Any]) -> None:
        # Callbacks are restored before the loops, from the same dictionary.
        start_next_epoch_if_finished(checkpoint)
