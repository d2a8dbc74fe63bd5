"""Hyper-parameter search the Hydra way: Optuna trials whose objective is a metric their run logged."""

import csv

import pytest
import yaml

from conftest import QUIET, TINY_MLP, run_train_script
from ganarena.errors import ConfigError
from ganarena.run.csv_history import read_rows
from ganarena.run.objective import run_objective


def write_history(run_dir, rows):
    (run_dir / "csv").mkdir(parents=True)
    with open(run_dir / "csv" / "metrics.csv", "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=["step", "train/critic_loss", "val/fid"])
        writer.writeheader()
        writer.writerows(rows)


def test_the_objective_is_the_best_or_last_logged_value(tmp_path):
    write_history(
        tmp_path,
        [
            {"step": 0, "train/critic_loss": 1.0},
            {"step": 2, "val/fid": 80.0},
            {"step": 4, "val/fid": 50.0},
            {"step": 6, "val/fid": "nan"},  # a broken evaluation never wins
            {"step": 8, "val/fid": 65.0},
        ],
    )
    assert run_objective(tmp_path, "val/fid", "min") == 50.0
    assert run_objective(tmp_path, "val/fid", "max") == 80.0
    assert run_objective(tmp_path, "val/fid", "final") == 65.0
    with pytest.raises(ConfigError, match=r"val/kid was never logged by this run \(it logged val/fid\)"):
        run_objective(tmp_path, "val/kid")
    with pytest.raises(ConfigError, match="min, max, final"):
        run_objective(tmp_path, "val/fid", "median")


def test_a_two_trial_optuna_search_optimises_what_each_run_logged(tmp_path):
    sweep = tmp_path / "sweep"
    args = [
        "-m",
        "hparams_search=modes_optuna",
        "optimized_metric=train/critic_loss",  # moves in 4 iterations, unlike the mode counts
        "data=ring8",
        *TINY_MLP,
        *QUIET,
        "trainer.accelerator=cpu",
        "logger=csv",
        "batch_size=16",
        "trainer.max_steps=4",
        "trainer.log_every_n_steps=1",
        "metrics=none",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.sampler.n_startup_trials=1",
        f"hydra.sweep.dir={sweep}",
    ]
    run_train_script(args, cwd=tmp_path)
    trials = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert [p.name for p in trials] == ["0", "1"]
    # modes_optuna takes each run's largest value (optimized_summary=max) and maximises over the trials.
    objectives = [max(float(r["train/critic_loss"]) for r in read_rows(t / "csv" / "metrics.csv")) for t in trials]
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert results["best_value"] == pytest.approx(max(objectives), rel=1e-12)
    assert set(results["best_params"]) == {"optim.generator.lr", "optim.critic.lr", "n_critic"}
