"""scripts/real_floor.py: the held-out images are exactly the reference images a FID subset leaves out."""

import importlib.util

import pytest
import torch

from conftest import REPO
from ganarena.data.digits import DigitsDataModule
from ganarena.errors import ConfigError
from ganarena.metrics.real_stats import reference_order

spec = importlib.util.spec_from_file_location("real_floor", REPO / "scripts" / "real_floor.py")
real_floor = importlib.util.module_from_spec(spec)
spec.loader.exec_module(real_floor)


@pytest.fixture(scope="module")
def digits():
    datamodule = DigitsDataModule(batch_size=64)
    datamodule.prepare_data()
    datamodule.setup("fit")
    return datamodule


def test_held_out_images_complement_the_reference_subset(digits):
    reference = digits.reference_dataloader(100).dataset
    available = len(reference)
    subset = reference_order(available)[:898]
    held_out = real_floor.held_out_images(digits, 898, 100)
    held_out_images = torch.cat(list(held_out))
    subset_images = torch.stack([reference[i] for i in subset.tolist()])
    assert len(held_out_images) == available - 898 == 899
    # Together they are the whole set, image for image, and no image is in both.
    together = torch.cat([subset_images, held_out_images]).flatten(1)
    whole = torch.stack([reference[i] for i in range(available)]).flatten(1)
    assert torch.equal(together.sort(dim=0).values, whole.sort(dim=0).values)
    assert set(held_out.dataset.indices).isdisjoint(subset.tolist())


@pytest.mark.parametrize("num_real", [1, 1796, 5000])
def test_a_subset_that_leaves_too_few_images_out_is_refused(digits, num_real):
    with pytest.raises(ConfigError, match="leave at least 2"):
        real_floor.held_out_images(digits, num_real, 100)
