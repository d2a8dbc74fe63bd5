"""The averaged generator (ema=on) and the learning-rate schedules (optim/schedule): closed forms of
the plain classes, then one real toy run that scores, draws, checkpoints, exports and reloads the
average and ends with the linearly decayed rates."""

import csv
import importlib.util
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from conftest import FAST, REPO, compose_config
from ganarena.errors import ConfigError
from ganarena.game.ema import ExponentialAverage
from ganarena.game.schedules import ConstantRate, LinearDecay
from ganarena.run.evaluation import ScheduledEvaluation
from ganarena.run.trained import load_trained
from ganarena.run.training import train

TINY_TOY = ["data=ring8", "model.generator.hidden=16", "model.critic.hidden=16", "model.generator.depth=2"]


class WithBuffer(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))
        self.register_buffer("count", torch.zeros(1))


def test_average_follows_the_closed_form_and_copies_buffers():
    generator = WithBuffer()
    ema = ExponentialAverage(decay=0.5, start_iteration=1)
    average = ema.average_copy(generator)
    assert not average.weight.requires_grad and generator.weight.requires_grad
    expected = {1: 2.0, 2: 3.0, 3: 5.5}  # a copy up to start_iteration, then 0.5 * mean + 0.5 * weight
    for iteration, weight in zip(expected, (2.0, 4.0, 8.0), strict=True):
        generator.weight.data.fill_(weight)
        generator.count.fill_(10 * iteration)
        ema.update(average, generator, iteration)
        assert average.weight.item() == expected[iteration]
        assert average.count.item() == 10 * iteration  # buffers are copied, never averaged


@pytest.mark.parametrize("decay", [1.0, -0.1])
def test_decay_outside_zero_one_is_refused(decay):
    with pytest.raises(ConfigError, match=r"ema.decay must be in \[0, 1\)"):
        ExponentialAverage(decay=decay)


def test_linear_decay_reaches_zero_at_the_last_iteration():
    assert [LinearDecay(4).factor(i) for i in range(5)] == [1.0, 0.75, 0.5, 0.25, 0.0]
    assert [LinearDecay(6, start_iteration=2).factor(i) for i in range(7)] == [1, 1, 1, 0.75, 0.5, 0.25, 0]
    assert ConstantRate().factor(10**6) == 1.0
    with pytest.raises(ConfigError, match=r"trainer\.max_steps must be a positive"):
        LinearDecay(-1)  # trainer.max_steps=-1: an unbounded run has no end to decay to


@pytest.fixture(scope="module")
def averaged_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("ema")
    overrides = [*FAST, *TINY_TOY, "ema=on", "ema.decay=0.5", "optim/schedule=linear", "trainer.max_steps=4"]
    overrides += ["metrics.toy_modes.every_n_iterations=2", "callbacks.samples.every_n_iterations=2"]
    _, module, trainer = train(compose_config(overrides, run_dir))
    return run_dir, module, trainer


def test_both_generators_are_scored_drawn_and_the_rates_decayed(averaged_run):
    run_dir, module, trainer = averaged_run
    with open(run_dir / "csv" / "metrics.csv") as f:
        rows = [row for row in csv.DictReader(f) if row.get("val/modes_captured")]
    assert [int(r["step"]) for r in rows] == [2, 4]
    assert all(r["val/modes_captured_ema"] and r["val/high_quality_percent_ema"] for r in rows)
    assert (run_dir / "samples" / "ema_iter_000004.png").exists()
    assert (run_dir / "samples" / "iter_000004.png").exists()
    # The last iteration (index 3 of 4) ran at a quarter of each base rate, the critic's included.
    for optimizer in trainer.optimizers:
        for group in optimizer.param_groups:
            assert group["lr"] == pytest.approx(0.25 * group["initial_lr"], rel=1e-12)
            assert group["initial_lr"] == pytest.approx(2e-4, rel=1e-12)
    averaged, trained = module.generator_ema.state_dict(), module.generator.state_dict()
    assert any(not torch.equal(averaged[k], trained[k]) for k in trained)


def test_eval_sample_and_export_use_the_average(averaged_run, tmp_path):
    run_dir, module, _ = averaged_run
    run = load_trained(run_dir / "checkpoints" / "last.ckpt")
    assert run.averaged
    for name, value in module.generator_ema.state_dict().items():
        assert torch.equal(run.generator.state_dict()[name], value), name
    spec = importlib.util.spec_from_file_location("ganarena_export", REPO / "src" / "export.py")
    export = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(export)
    exported = export.export(
        {"ckpt_path": str(run_dir / "checkpoints" / "last.ckpt"), "output": str(tmp_path / "g.safetensors")}
    )
    shared = load_trained(exported)
    assert shared.averaged
    for name, value in module.generator_ema.state_dict().items():
        assert torch.equal(shared.generator.state_dict()[name], value), name


def test_a_run_without_ema_keeps_no_average(tmp_path):
    cfg = compose_config([*FAST, *TINY_TOY, "trainer.max_steps=1", "metrics=none", "ema=none"], tmp_path)
    _, module, _ = train(cfg)
    assert module.generator_ema is None
    assert not any(k.startswith("generator_ema.") for k in module.state_dict())
    assert not load_trained(tmp_path / "checkpoints" / "last.ckpt").averaged


def test_best_checkpoint_follows_the_average_when_there_is_one(tmp_path):
    saved = []
    trainer = SimpleNamespace(save_checkpoint=lambda path, weights_only: saved.append(path))
    scheduled = ScheduledEvaluation(SimpleNamespace(monitor="fid", best_checkpoint=str(tmp_path / "best.ckpt")))
    scheduled._keep_best(trainer, {"fid": 10.0, "fid_ema": 30.0})
    scheduled._keep_best(trainer, {"fid": 5.0, "fid_ema": 40.0})  # the trained one improved, the average did not
    assert scheduled.best == 30.0 and len(saved) == 1
    scheduled._keep_best(trainer, {"fid": 50.0, "fid_ema": 20.0})
    assert scheduled.best == 20.0 and len(saved) == 2
