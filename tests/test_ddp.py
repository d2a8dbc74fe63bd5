"""DDP with manual optimization is exact: two processes on different data end where one process
on their union ends (gradients of both networks averaged on every update, the gradient penalty's
included), and both ranks hold the same weights. The run carries MRGAN's encoder and MDGAN's
encoder and manifold critic, so their DDP wrappers are checked too, and an averaged generator,
which must be the same average on both ranks."""

import subprocess
import sys

import pytest
import torch

from conftest import REPO

SCRIPT = REPO / "tests" / "ddp_equivalence.py"


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp_equivalence")
    for mode in ("ddp", "single,alone"):  # the two single-process modes share one interpreter
        result = subprocess.run(
            [sys.executable, str(SCRIPT), mode, str(out)], capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stderr[-3000:]
    return {name: torch.load(out / f"{name}.pt") for name in ("rank0", "rank1", "single", "alone")}


def largest_difference(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[k] - b[k]).abs().max().item() for k in a)


def test_the_equivalence_run_trains_the_regularizers_networks(weights):
    for prefix in ("regularizers.0.encoder.", "regularizers.1.encoder.", "regularizers.1.manifold_critic."):
        assert any(name.startswith(prefix) for name in weights["single"]), prefix


def test_the_average_is_kept_and_is_not_the_generator(weights):
    single = weights["single"]
    averaged = {k.removeprefix("generator_ema."): v for k, v in single.items() if k.startswith("generator_ema.")}
    trained = {k.removeprefix("generator."): v for k, v in single.items() if k.startswith("generator.")}
    assert averaged.keys() == trained.keys() and largest_difference(averaged, trained) > 1e-4


def test_both_ranks_hold_identical_weights(weights):
    assert largest_difference(weights["rank0"], weights["rank1"]) == 0.0


def test_two_ranks_equal_one_process_on_the_concatenated_batch(weights):
    assert largest_difference(weights["rank0"], weights["single"]) < 1e-5
    # The comparison has teeth: rank 0's data alone lead elsewhere.
    assert largest_difference(weights["alone"], weights["single"]) > 1e-2
