"""ScheduledEvaluation: a metric family evaluated during training, its values logged, its best kept.

    callback = ScheduledEvaluation(FrechetEvaluation(...))   # build_run wraps every metric of cfg.metrics

Every `every_n_iterations` generator iterations, and at the end of training when that falls
between two scheduled evaluations (runs shorter than one interval are not evaluated), the
generator is measured after the run's weights are confirmed finite. The values go to every
logger as `val/<name>` at step = generator iterations, the protocol once as hyper-parameters;
for a family with a `monitor` (lower is better) its `best_checkpoint` is rewritten whenever that
value improves. The best value and the last evaluated iteration are part of the checkpoint.
With an averaged generator (ema=on) both are measured: the trained one as `val/<name>`, the
average as `val/<name>_ema`, and best.ckpt follows the average, the generator eval.py scores.
"""

from __future__ import annotations

import math
from typing import Any

import lightning as L
from lightning.pytorch.utilities import rank_zero_info

from ganarena.metrics.evaluation import Evaluation
from ganarena.run.lightning_private import state_key
from ganarena.run.monitor import confirm_finite

EMA_SUFFIX = "_ema"  # the averaged generator's values: val/fid_ema beside val/fid


class ScheduledEvaluation(L.Callback):
    def __init__(self, evaluation: Evaluation):
        self.evaluation = evaluation
        self.best: float | None = None
        self.last_evaluated = -1
        self.latest: dict[str, float] = {}
        self._protocol_logged = False

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if pl_module.iteration % self.evaluation.every_n_iterations == 0:
            self.evaluate(trainer, pl_module)

    def on_train_end(self, trainer, pl_module) -> None:
        if pl_module.iteration >= self.evaluation.every_n_iterations:
            self.evaluate(trainer, pl_module)

    def evaluate(self, trainer: L.Trainer, pl_module) -> dict[str, float] | None:
        iteration = pl_module.iteration
        if iteration == self.last_evaluated:
            return None
        confirm_finite(trainer)  # never score (or keep as best) broken weights
        evaluation = self.evaluation
        values = evaluation.run(pl_module.generator, trainer.datamodule, pl_module.device)
        if (average := getattr(pl_module, "generator_ema", None)) is not None:
            averaged = evaluation.run(average, trainer.datamodule, pl_module.device)
            values = {**values, **{f"{name}{EMA_SUFFIX}": value for name, value in averaged.items()}}
        self.last_evaluated, self.latest = iteration, values
        logged = {f"val/{name}": value for name, value in values.items()}
        if not self._protocol_logged:
            for logger in trainer.loggers:
                logger.log_hyperparams({f"protocol/{evaluation.name}": evaluation.protocol()})
            self._protocol_logged = True
        for logger in trainer.loggers:
            logger.log_metrics(logged, step=iteration)
        rank_zero_info(f"iteration {iteration}: " + ", ".join(f"{k} {v:.6g}" for k, v in logged.items()))
        self._keep_best(trainer, values)
        return values

    def _keep_best(self, trainer: L.Trainer, values: dict[str, float]) -> None:
        monitor, path = self.evaluation.monitor, self.evaluation.best_checkpoint
        if monitor is None or path is None:
            return
        value = values.get(monitor + EMA_SUFFIX, values[monitor])
        if math.isfinite(value) and (self.best is None or value < self.best):
            self.best = value
            # Every rank computed the same synced value, so all take part in the save as Lightning requires.
            trainer.save_checkpoint(path, weights_only=False)

    @property
    def state_key(self) -> str:
        return state_key(self, name=self.evaluation.name)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "last_evaluated": self.last_evaluated}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.best = state_dict.get("best")
        self.last_evaluated = state_dict.get("last_evaluated", -1)
