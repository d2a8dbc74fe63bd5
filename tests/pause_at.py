"""Run src/train.py and freeze it at one chosen moment, so that a test can kill it there with SIGKILL.

    python tests/pause_at.py MOMENT N MARKER [train.py overrides...]

MOMENT says where the process stops for good:

    iteration    inside generator iteration N, after its critic updates, before its generator update
    checkpoint   halfway through writing last.ckpt of iteration N (its temporary file half full)
    evaluation   inside the evaluation at iteration N, after its first batch, before it logs or saves
    cache        halfway through writing the real-feature cache file (N is ignored)

There it creates the file MARKER and sleeps. Nothing else in the run changes: the test polls for
MARKER and kills a real training process at the moment it chose rather than one a scheduler's
timing would give, and without any test-only code in src/.
"""

from __future__ import annotations

import io
import os
import runpy
import sys
import time
from pathlib import Path

import torch

from ganarena.game.module import GANModule
from ganarena.metrics import real_stats
from ganarena.run.checkpoints import AtomicCheckpointIO
from ganarena.run.evaluation import ScheduledEvaluation

TRAIN = Path(__file__).resolve().parents[1] / "src" / "train.py"
real_torch_save = torch.save


def freeze(marker: str) -> None:
    Path(marker).write_text(str(os.getpid()))
    while True:
        time.sleep(60)


def half_save_then_freeze(marker: str):
    """A torch.save that writes the first half of the file, flushes it and freezes."""

    def save(obj, file) -> None:
        buffer = io.BytesIO()
        real_torch_save(obj, buffer)
        data = buffer.getvalue()
        handle = open(file, "wb") if isinstance(file, (str, os.PathLike)) else file  # noqa: SIM115
        handle.write(data[: len(data) // 2])
        handle.flush()
        freeze(marker)

    return save


def arm(moment: str, n: int, marker: str) -> None:
    if moment == "iteration":
        update = GANModule._generator_update

        def generator_update(self, real, optimizer):
            if self.iteration + 1 == n:
                freeze(marker)
            return update(self, real, optimizer)

        GANModule._generator_update = generator_update
    elif moment == "checkpoint":
        save_checkpoint = AtomicCheckpointIO.save_checkpoint

        def save_last_halfway(self, checkpoint, path, storage_options=None):
            if Path(path).name == "last.ckpt" and checkpoint.get("iteration") == n:
                torch.save = half_save_then_freeze(marker)
            return save_checkpoint(self, checkpoint, path, storage_options)

        AtomicCheckpointIO.save_checkpoint = save_last_halfway
    elif moment == "evaluation":
        evaluate = ScheduledEvaluation.evaluate

        def evaluate_until_first_batch(self, trainer, pl_module):
            if pl_module.iteration == n:
                update = self.evaluation.update

                def update_then_freeze(fake):
                    update(fake)
                    freeze(marker)

                self.evaluation.update = update_then_freeze
            return evaluate(self, trainer, pl_module)

        ScheduledEvaluation.evaluate = evaluate_until_first_batch
    elif moment == "cache":
        atomic_save = real_stats.atomic_save

        def save_halfway(payload, path):
            torch.save = half_save_then_freeze(marker)
            atomic_save(payload, path)

        real_stats.atomic_save = save_halfway
    else:
        raise SystemExit(f"unknown moment {moment!r}; choose iteration, checkpoint, evaluation or cache")


if __name__ == "__main__":
    moment, n, marker, *overrides = sys.argv[1:]
    arm(moment, int(n), marker)
    sys.argv = [str(TRAIN), *overrides]
    runpy.run_path(str(TRAIN), run_name="__main__")
