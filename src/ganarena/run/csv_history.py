"""The CSV log of a run: its whole history across every process that continues it.

    logger = ContinuingCSVLogger(save_dir, name="csv", version="", rows_to_keep=n, resume_iteration=k)
    trainer = Trainer(logger=[..., logger], callbacks=[..., LogsInCheckpoints()])   # build_run does both

metrics.csv is never deleted, is replaced only atomically, reaches the disk whenever a
checkpoint is written, and is cut back on resume to exactly the rows that checkpoint counted.
"""

from __future__ import annotations

import csv
import os
from typing import Any

import lightning as L
from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.core.saving import load_hparams_from_yaml
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.utilities import rank_zero_only

from ganarena.atomic_file import atomic_write


class _HistoryWriter(ExperimentWriter):
    """Lightning's CSV writer, except that metrics.csv holds the run's whole history and only grows safely.

    Lightning deletes an existing metrics.csv when its writer is created and rewrites it in place
    when a new column appears: a crash, or a process that logs nothing, loses the history. Here
    the file is replaced only by a complete new version (temporary file, fsync, rename), written
    once this process has rows to add; until then it stays exactly as found.
    """

    def __init__(self, log_dir: str, history: list[dict[str, Any]], found_rows: int, hparams: dict[str, Any]):
        # Rows of the run that are in metrics.csv or will be at the next save, oldest first.
        self.history = history
        self._found_rows = found_rows
        self._keys_on_disk: list[str] | None = None  # the header this process wrote; None: not written yet
        super().__init__(log_dir)
        self.hparams = hparams  # an earlier process's hyper-parameters (the evaluation protocol) stay

    def _check_log_dir_exists(self) -> None:
        """Lightning deletes metrics.csv here; this writer keeps it until it can replace it."""

    def save(self, force: bool = True) -> None:
        """Write the rows logged since the last save. Without `force`, wait while the file holds more rows
        than the history would (an interrupted process's rows past its checkpoint, not yet logged again)."""
        if not self.metrics:
            return
        rows = self.history + self.metrics
        if not force and len(rows) < self._found_rows:
            return
        keys = sorted(set().union(*rows))
        if keys == self._keys_on_disk:
            _append_rows(self.metrics_file_path, keys, self.metrics, sync=force)
        else:
            _replace_rows(self.metrics_file_path, keys, rows)
            self._keys_on_disk = keys
        self.history, self.metrics = rows, []


def _append_rows(path: str, keys: list[str], rows: list[dict[str, Any]], sync: bool) -> None:
    # A crash during the append leaves at most a partial row after every row a checkpoint counts.
    # Only the saves before a checkpoint (forced) wait for the disk: rows past the last checkpoint
    # are cut on resume anyway, and a sync at every periodic flush would stall training for nothing.
    with open(path, "a", newline="") as file:
        csv.DictWriter(file, fieldnames=keys).writerows(rows)
        file.flush()
        if sync:
            os.fsync(file.fileno())


def _replace_rows(path: str, keys: list[str], rows: list[dict[str, Any]]) -> None:
    with atomic_write(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)


def read_rows(path: str | os.PathLike) -> list[dict[str, str]]:
    """The complete rows of a metrics.csv (empty cells left out), [] when there is none."""
    if not os.path.isfile(path):
        return []
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    # A row cut short by a crash during an append has missing cells (None): it was never counted.
    return [{k: v for k, v in row.items() if v != ""} for row in rows if None not in row.values()]


class ContinuingCSVLogger(CSVLogger):
    """CSVLogger whose metrics.csv holds a run's whole history across the processes that continue it.

        ContinuingCSVLogger(save_dir, name="csv", version="", rows_to_keep=n, resume_iteration=k)

    A run continued in place keeps the first `rows_to_keep` rows of the existing file: the rows
    its checkpoint counted (see `rows_saved`). Rows the interrupted process logged after that
    checkpoint are replaced by the resumed run's own. A checkpoint that does not count rows keeps
    the training rows before iteration `resume_iteration` and the evaluations up to it. A fresh run
    (`resume_iteration` None) starts a new history. The file is never shortened before this
    process saves rows of its own, so a continued run that trains nothing leaves it as it was.
    """

    def __init__(self, save_dir: str, rows_to_keep: int | None = None, resume_iteration: int | None = None, **kwargs):
        super().__init__(save_dir, **kwargs)
        self._rows_to_keep = rows_to_keep
        self._resume_iteration = resume_iteration

    @property
    @rank_zero_experiment
    def experiment(self) -> _HistoryWriter:
        if self._experiment is None:
            os.makedirs(self.log_dir, exist_ok=True)
            found = read_rows(os.path.join(self.log_dir, ExperimentWriter.NAME_METRICS_FILE))
            if self._resume_iteration is None:
                history = []
            elif self._rows_to_keep is not None:
                history = found[: self._rows_to_keep]
            else:
                history = [row for row in found if _logged_by_iteration(row, self._resume_iteration)]
            hparams_file = os.path.join(self.log_dir, ExperimentWriter.NAME_HPARAMS_FILE)
            hparams = load_hparams_from_yaml(hparams_file) if history and os.path.isfile(hparams_file) else {}
            self._experiment = _HistoryWriter(self.log_dir, history, len(found), dict(hparams or {}))
        return self._experiment

    @rank_zero_only
    def log_metrics(self, metrics, step=None):
        self.experiment.log_metrics(metrics, step)
        if step is not None and (step + 1) % self._flush_logs_every_n_steps == 0:
            self.experiment.save(force=False)

    @property
    def rows_saved(self) -> int | None:
        """How many rows of metrics.csv are this run's history as of the last save (None off rank 0)."""
        return len(self._experiment.history) if isinstance(self._experiment, _HistoryWriter) else None


def _logged_by_iteration(row: dict[str, str], iteration: int) -> bool:
    # Training rows of iteration i have step i - 1; evaluations after iteration i have step i.
    step = int(row["step"])
    return step < iteration or (step == iteration and not any(key.startswith("train/") for key in row))


class LogsInCheckpoints(L.Callback):
    """With every checkpoint: each logger's rows on disk, the CSV's row count, the loggers' versions.

    The CSV log reaches the disk before the checkpoint that counts its rows, so a resume from that
    checkpoint finds every row up to it (none lost to a crash, none logged twice); the versions
    let a resumed run continue the same logger runs (the W&B run id, for one).
    """

    def on_save_checkpoint(self, trainer, pl_module, checkpoint) -> None:
        for logger in trainer.loggers:
            logger.save()
            if isinstance(logger, ContinuingCSVLogger):
                checkpoint["csv_rows"] = logger.rows_saved
        checkpoint["logger_versions"] = {type(logger).__name__: logger.version for logger in trainer.loggers}
