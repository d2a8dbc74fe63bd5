"""scripts/benchmark_speed.py and its package scripts/speed/: the plain loop does the GANModule's work, and a tiny
run reports finite figures."""

import importlib.util
import json
import math
import subprocess
import sys

import pytest
import torch

from conftest import REPO

TINY_DCGAN = ["model.generator.width=8", "model.critic.width=8", "latent_dim=16"]


def load_benchmark():
    """The command line, loaded by path; loading it puts scripts/ on sys.path for its package `speed`."""
    spec = importlib.util.spec_from_file_location("benchmark_speed", REPO / "scripts" / "benchmark_speed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


benchmark = load_benchmark()
from speed.equivalence import equivalence_report  # noqa: E402
from speed.overhead import PROFILE_VARIANTS  # noqa: E402
from speed.plain_loop import PlainLoop, RoundingNoisePlainLoop, with_rounding_noise  # noqa: E402
from speed.runs import compose_run  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: on a CPU shared with other work, a second one mostly waits for its core."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize(
    "preset",
    [
        [],  # GAN-QP: batch-norm critic, real scores in the generator loss, n_critic 2
        ["experiment=wgan_gp"],  # random interpolates in the penalty, n_critic 5
        ["experiment=sngan"],  # spectral-norm vectors updated by every critic forward
        ["experiment=wgan"],  # weight clipping after each critic step, RMSprop
    ],
    ids=["gan_qp", "wgan_gp", "sngan", "wgan"],
)
def test_plain_loop_ends_where_the_lightning_step_ends(preset):
    report = equivalence_report([*preset, *TINY_DCGAN], "cpu", iterations=2)
    assert report["initial_difference"] == 0 and report["same_batches"]
    assert report["max_abs_difference"] <= report["tolerance"]
    # On a CPU both run the same kernels in the same order: bit for bit, not merely within tolerance.
    assert report["max_abs_difference"] == 0
    assert report["max_weight_change"] > 100 * report["tolerance"]
    assert report["equal"]


def test_timed_runs_keep_no_averaged_generator_the_plain_loop_lacks(tmp_path):
    assert not compose_run([], tmp_path, torch.device("cpu")).ema


class GeneratorOnFirstChunk(PlainLoop):
    """Trains the generator against the first real chunk instead of the last."""

    def iteration(self, batch):
        real_batches = batch.chunk(self.n_critic)
        for real in real_batches:
            self.critic_update(real)
        self.generator_update(real_batches[0])


class NoConstraintStep(PlainLoop):
    """Forgets to clip the critic after its steps."""

    def __init__(self, module, device, finite_guard=None):
        super().__init__(module, device, finite_guard)
        self.constraints = []


@pytest.mark.parametrize(
    ("preset", "faulty_loop"),
    [([], GeneratorOnFirstChunk), (["experiment=wgan"], NoConstraintStep)],
    ids=["generator_chunk", "no_clipping"],
)
def test_the_check_notices_a_loop_that_does_other_work(preset, faulty_loop):
    report = equivalence_report([*preset, *TINY_DCGAN], "cpu", iterations=1, plain_loop=faulty_loop)
    assert report["same_batches"]
    assert report["max_abs_difference"] > report["tolerance"]
    assert not report["equal"]


def test_rounding_noise_loop_changes_only_the_last_bits_of_the_gradients():
    """The GPU yardstick: every gradient off by about float32 rounding, the training's own draws untouched."""
    noisy = equivalence_report(
        ["experiment=wgan_gp", *TINY_DCGAN], "cpu", iterations=2, plain_loop=RoundingNoisePlainLoop
    )
    assert noisy["same_batches"] and noisy["initial_difference"] == 0
    # Exactly equal without the noise (test above); with it the runs part, by far less than training moves.
    assert 0 < noisy["max_abs_difference"] < noisy["max_weight_change"] / 10

    gradient = torch.randn(10_000)
    noisy_gradient = with_rounding_noise(gradient, rounding=torch.Generator().manual_seed(0))
    relative = (noisy_gradient - gradient).abs() / gradient.abs()
    assert 0 < relative.median() < 2e-7 and relative.max() < 1e-6


def test_compiled_module_is_checked_against_the_rounding_yardstick():
    """compile=true against the plain loop: apart by rounding only (a real difference would move most weights)."""
    tiny_mlp = ["data=grid25", "model.generator.hidden=16", "model.critic.hidden=16", "batch_size=8"]
    compiled = equivalence_report([*tiny_mlp, "compile=true"], "cpu", iterations=2)
    yardstick = equivalence_report(tiny_mlp, "cpu", iterations=2, plain_loop=RoundingNoisePlainLoop)
    assert compiled["same_batches"] and compiled["initial_difference"] == 0
    assert compiled["max_abs_difference"] < compiled["max_weight_change"]
    # GAN-QP's last critic bias has a gradient at rounding level: either run moves it by about lr either way.
    assert compiled["fraction_apart"] < 0.01 and yardstick["fraction_apart"] < 0.01


def finite_numbers(node):
    """Every number in a JSON tree (bools and the round-by-round lists included)."""
    if isinstance(node, dict):
        for value in node.values():
            yield from finite_numbers(value)
    elif isinstance(node, list):
        for value in node:
            yield from finite_numbers(value)
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        yield node


def test_tiny_run_of_every_section_reports_positive_finite_figures(tmp_path):
    preset = " ".join([*TINY_DCGAN, "batch_size=16"])
    output = tmp_path / "speed.json"
    command = [
        sys.executable,
        str(REPO / "scripts" / "benchmark_speed.py"),
        "--iterations=1",
        "--warmup=0",
        "--rounds=1",
        "--threads=1",
        "--no-compile",  # compiled runs: test_compiled_module_is_checked_against_the_rounding_yardstick
        f"--presets={preset}",
        "--constraints",
        "none",
        "gp",
        "--constraint-base",
        "loss=wgan",
        "n_critic=2",
        *TINY_DCGAN,
        "batch_size=16",
        "model.critic.norm=layer",
        "--fid-real=8",
        "--fid-fake=4",
        "--fid-overrides",
        "metrics/backbone=classifier",
        "metrics.fid.backbone.classifier_steps=2",
        "--data-batches=3",
        f"--json={output}",
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    headings = ["Lightning overhead", "Where Lightning's time goes", "Constraint cost", "FID evaluation", "Data loader"]
    assert all(heading in result.stdout for heading in headings), result.stdout

    figures = json.loads(output.read_text())
    assert figures["equivalence"][preset]["equal"]
    lightning = figures["lightning"][preset]
    assert lightning["ratio_lightning_to_plain"] == lightning["lightning_it_per_s"] / lightning["plain_it_per_s"]
    assert set(figures["profile"][preset]) == set(PROFILE_VARIANTS)
    assert set(figures["constraints"]) == {"none", "gp"}
    assert figures["fid"]["num_real"] == 8 and figures["fid"]["num_fake"] == 4
    assert figures["data"][preset]["images_per_generator_iteration"] == 32
    for section in ("lightning", "profile", "constraints", "fid", "data"):
        numbers = list(finite_numbers(figures[section]))
        assert numbers and all(math.isfinite(n) and n > 0 for n in numbers), (section, figures[section])
