"""Toy mixtures exactly as the PacGAN protocol defines them; digits scaled and resized."""

import math

import pytest
import torch

from ganarena.data.digits import DigitsDataModule
from ganarena.data.toy import ToyDataModule, grid25_modes, ring8_modes


def test_ring8_modes_are_eight_distinct_points_on_the_unit_circle():
    modes = ring8_modes()
    assert modes.shape == (8, 2)
    assert torch.allclose(modes.norm(dim=1), torch.ones(8), atol=1e-6)
    distances = torch.cdist(modes, modes) + torch.eye(8) * 10
    chord = 2 * math.sin(math.pi / 8)  # neighbours are 45 degrees apart
    assert abs(distances.min().item() - chord) < 1e-5


def test_grid25_modes():
    modes = grid25_modes()
    assert modes.shape == (25, 2)
    assert set(modes[:, 0].tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    assert len({tuple(m) for m in modes.tolist()}) == 25


def test_toy_samples_follow_the_mixture_and_the_seed():
    dm = ToyDataModule("grid25", batch_size=8, num_samples=20_000, seed=3)
    samples = dm.samples
    nearest = torch.cdist(samples, grid25_modes()).min(dim=1)
    assert nearest.values.max() < 0.05 * 6  # within 6 std of a mode
    assert abs((samples - grid25_modes()[nearest.indices]).std().item() - 0.05) < 0.003
    counts = torch.bincount(nearest.indices, minlength=25).float()
    assert (counts / len(samples) - 1 / 25).abs().max() < 0.01
    again = ToyDataModule("grid25", batch_size=8, num_samples=20_000, seed=3).samples
    other = ToyDataModule("grid25", batch_size=8, num_samples=20_000, seed=4).samples
    assert torch.equal(samples, again)
    assert not torch.equal(samples, other)


def test_step_batches_hold_n_critic_batches():
    dm = ToyDataModule("ring8", batch_size=16, batches_per_step=5, num_samples=1000)
    dm.setup("fit")
    batches = list(dm.train_dataloader())
    assert all(b.shape == (80, 2) for b in batches)
    assert len(batches) == 1000 // 80


def test_digits_are_scaled_and_resized():
    dm = DigitsDataModule(batch_size=32, resolution=32)
    images = dm.samples
    assert images.shape == (1797, 1, 32, 32)
    assert images.min().item() == -1.0 and images.max().item() <= 1.0
    assert images.max().item() > 0.9
    # Corners are background (0 in the 8x8 originals) in most digits.
    assert (images[:, 0, 0, 0] == -1).float().mean() > 0.95
    assert DigitsDataModule(batch_size=32, resolution=64, channels=3).samples.shape == (1797, 3, 64, 64)


def test_toy_labels_name_the_mode_each_point_was_drawn_from():
    dm = ToyDataModule("ring8", batch_size=8, num_samples=5000, seed=1)
    nearest = torch.cdist(dm.samples, ring8_modes()).argmin(dim=1)
    assert torch.equal(dm.labels, nearest)
    assert dm.reference_id == "ring8-n5000-seed1"


def test_digits_labels_and_reference_set():
    dm = DigitsDataModule(batch_size=32, resolution=32)
    assert dm.labels.shape == (1797,)
    assert set(dm.labels.tolist()) == set(range(10))
    batches = list(dm.reference_dataloader(batch_size=500))
    assert [len(b) for b in batches] == [500, 500, 500, 297]
    assert torch.equal(torch.cat(batches), dm.samples)  # fixed order: the whole set once
    assert dm.reference_id != DigitsDataModule(batch_size=32, resolution=64).reference_id


def test_a_digits_subset_trains_on_the_same_few_images_and_is_measured_against_all():
    dm, again = (DigitsDataModule(batch_size=32, num_samples=500) for _ in range(2))
    full = DigitsDataModule(batch_size=32)
    assert dm.samples.shape == (500, 1, 32, 32) and torch.equal(dm.samples, again.samples)
    # Digits of the full set, each with its own label.
    rows = {tuple(x.flatten().tolist()): label for x, label in zip(full.samples, full.labels.tolist(), strict=True)}
    assert all(rows[tuple(x.flatten().tolist())] == y for x, y in zip(dm.samples, dm.labels.tolist(), strict=True))
    assert len(set(dm.labels.tolist())) == 10
    assert torch.equal(torch.cat(list(dm.reference_dataloader(batch_size=1000))), full.samples)
    assert dm.reference_id == full.reference_id  # FID statistics are shared with full-data runs
    with pytest.raises(ValueError, match="between 1 and 1797"):
        DigitsDataModule(batch_size=32, num_samples=2000)
