"""scripts/toy_ablation.py: the PacGAN measures it prints, and a short run end to end."""

import importlib.util
import re

import torch

from conftest import REPO

spec = importlib.util.spec_from_file_location("toy_ablation", REPO / "scripts" / "toy_ablation.py")
toy_ablation = importlib.util.module_from_spec(spec)
spec.loader.exec_module(toy_ablation)
LINE = re.compile(r"iteration (\d+): modes \d+, high quality [\d.]+ % \(\d+ s\)$")


def test_pacgan_measures_on_known_samples():
    means = toy_ablation.grid_means(scale=2.0)
    std = 0.05 / 2.0
    assert toy_ablation.pacgan_modes(means, means, std) == (25, 100.0)
    # Half the samples on the first 5 modes, half 1 std beyond the 3-std radius of mode 0.
    near = means[:5].repeat(2, 1)
    far = means[0] + torch.tensor([4 * std, 0.0]).expand(10, 2)
    modes, high_quality = toy_ablation.pacgan_modes(torch.cat([near, far]), means, std)
    assert modes == 5 and abs(high_quality - 50.0) < 1e-9


def test_short_run_prints_the_measures(capsys):
    toy_ablation.main(["--width", "16", "--batch", "8", "--iterations", "4", "--every", "2", "--critic", "layer_leaky"])
    lines = capsys.readouterr().out.splitlines()
    assert [int(LINE.match(line)[1]) for line in lines] == [2, 4]
