"""FiniteGuard: broken readings stop training, at once or one iteration late, and are never missed."""

import csv
import math

import lightning as L
import pytest
import torch

from conftest import FAST, TINY_MLP, compose_config
from ganarena.run.build import build_run
from ganarena.run.finite_guard import FiniteGuard, NonFiniteError
from ganarena.run.monitor import training_monitor

ADVICE = "Nothing was saved."


def readings(loss: float, weights: float = 1.0, device: str = "cpu") -> dict[str, torch.Tensor]:
    return {
        "train/critic_loss": torch.tensor(loss, device=device),
        "critic weights": torch.tensor(weights, device=device),
    }


def test_checks_at_once_by_default_on_the_cpu():
    guard = FiniteGuard(advice=lambda: ADVICE)
    guard.submit(1, readings(0.5))
    assert guard.latest["train/critic_loss"].item() == 0.5
    with pytest.raises(NonFiniteError) as error:
        guard.submit(2, readings(0.25, weights=math.inf))
    assert str(error.value) == f"iteration 2: critic weights = inf. {ADVICE}"
    assert guard.latest["train/critic_loss"].item() == 0.5  # the last readings found finite


def deferred_run(device: str, deferred: bool | None) -> tuple[FiniteGuard, list[int]]:
    """Submits iterations 1 (finite), 2 (NaN loss), 3 (finite): returns the guard and where it raised."""
    guard = FiniteGuard(advice=lambda: ADVICE, deferred=deferred)
    raised_at = []
    for iteration, loss in ((1, 0.5), (2, math.nan), (3, 0.75)):
        try:
            guard.submit(iteration, readings(loss, device=device))
        except NonFiniteError as error:
            raised_at.append(iteration)
            assert str(error).startswith("iteration 2: train/critic_loss = nan.")
    return guard, raised_at


def test_deferred_check_stops_one_iteration_later_naming_the_broken_one():
    guard, raised_at = deferred_run("cpu", deferred=True)
    assert raised_at == [3]
    assert guard.latest["train/critic_loss"].item() == 0.5


def test_confirm_catches_the_pending_readings():
    guard = FiniteGuard(advice=lambda: ADVICE, deferred=True)
    guard.submit(1, readings(0.5))
    guard.confirm()
    assert guard.latest["train/critic_loss"].item() == 0.5
    guard.submit(2, readings(-math.inf))
    with pytest.raises(NonFiniteError, match="iteration 2: train/critic_loss = -inf"):
        guard.confirm()
    guard.confirm()  # nothing pending any more


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_gpu_readings_are_deferred_by_default():
    guard, raised_at = deferred_run("cuda", deferred=None)
    assert raised_at == [3]
    assert guard.latest["train/critic_loss"].device.type == "cpu"


def logged_rows(tmp_path, deferred: bool) -> list[dict[str, str]]:
    overrides = [*FAST, "data=ring8", *TINY_MLP, "trainer.max_steps=5", "trainer.log_every_n_steps=1"]
    cfg = compose_config(overrides, tmp_path)
    L.seed_everything(cfg.seed)
    datamodule, module, trainer = build_run(cfg)
    training_monitor(trainer).guard.deferred = deferred
    trainer.fit(module, datamodule=datamodule)
    with open(tmp_path / "csv" / "metrics.csv", newline="") as file:
        return [{k: v for k, v in row.items() if k == "step" or k.startswith("train/")} for row in csv.DictReader(file)]


def test_deferred_readings_are_logged_at_their_own_iteration(tmp_path):
    """The logs of a run checked one iteration late, as on a GPU, equal those of a run checked at once."""
    at_once, deferred = logged_rows(tmp_path / "at_once", False), logged_rows(tmp_path / "deferred", True)
    assert [row["step"] for row in at_once if row["train/critic_loss"]] == ["0", "1", "2", "3", "4"]
    assert deferred == at_once
