"""Every image data option trains a DCGAN for a few steps from its real config and fake files,
knows its shape before reading data, and stops before training when its files are missing."""

from __future__ import annotations

import math

import lightning as L
import pytest
import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate

from conftest import FAST, compose_config
from ganarena.errors import ConfigError, DataNotFoundError
from ganarena.run.build import build_run
from test_datasets import write_celeba, write_cifar10, write_image_folder, write_mnist, zip_folder

TINY_DCGAN = ["model.generator.width=8", "model.critic.width=8", "latent_dim=16", "batch_size=8"]


def fake_files(name: str, root):
    """Write `name`'s files under root; return the overrides that point the config at them."""
    if name in ("mnist", "stacked_mnist"):
        write_mnist(root)
    elif name == "fashion_mnist":
        write_mnist(root, folder="FashionMNIST")
    elif name == "cifar10":
        write_cifar10(root)
    elif name == "celeba":
        write_celeba(root)
    elif name == "folder":
        write_image_folder(root / "imgs", n=24, corrupt=False)
        return [f"data.path={zip_folder(root / 'imgs', root / 'imgs.zip')}", "data.resolution=32"]
    elif name == "stacked_digits":
        return ["data.num_samples=200"]  # scikit-learn ships the digits: no files
    if name == "stacked_mnist":
        return [f"data.source.root={root}", "data.num_samples=200"]
    return [f"data.root={root}"]


SHAPES = {
    "mnist": (1, 32, 32),
    "fashion_mnist": (1, 32, 32),
    "cifar10": (3, 32, 32),
    "celeba": (3, 64, 64),
    "folder": (3, 64, 64),
    "stacked_mnist": (3, 32, 32),
    "stacked_digits": (3, 32, 32),
}


@pytest.mark.parametrize("name", list(SHAPES))
def test_dcgan_trains_on_every_image_data_set(name, tmp_path):
    overrides = fake_files(name, tmp_path / "data")
    cfg = compose_config(
        [*FAST, f"data={name}", *overrides, *TINY_DCGAN, "trainer.max_steps=2", "trainer.log_every_n_steps=1"],
        tmp_path / "run",
    )
    if "num_workers" in cfg.data:
        cfg.data.num_workers = 0
    L.seed_everything(cfg.seed)
    datamodule, module, trainer = build_run(cfg)
    generator_before = [p.detach().clone() for p in module.generator.parameters()]
    trainer.fit(module, datamodule=datamodule)
    assert module.iteration == 2
    assert any(not torch.equal(a, b) for a, b in zip(generator_before, module.generator.parameters(), strict=True))
    metrics = (tmp_path / "run" / "csv" / "metrics.csv").read_text().splitlines()
    assert len(metrics) == 3 and all(math.isfinite(float(v)) for v in metrics[1].split(",") if v)
    assert (tmp_path / "run" / "samples" / "iter_000002.png").exists()


@pytest.mark.parametrize("name", list(SHAPES))
def test_every_data_config_knows_its_shape_before_reading_data(name, tmp_path):
    missing = tmp_path / "missing"
    cfg = compose_config([f"data={name}", f"paths.data_dir={missing}"])
    datamodule = instantiate(cfg.data)
    assert datamodule.shape == SHAPES[name]
    assert not missing.exists()  # nothing read, nothing downloaded, nothing created


def test_missing_data_stop_the_run_before_training(tmp_path):
    cfg = compose_config(
        [*FAST, "data=cifar10", f"data.root={tmp_path / 'empty'}", "data.download=false", *TINY_DCGAN],
        tmp_path / "run",
    )
    datamodule, module, trainer = build_run(cfg)
    with pytest.raises(DataNotFoundError, match="cifar-10-batches-py"):
        trainer.fit(module, datamodule=datamodule)
    assert module.iteration == 0 and not (tmp_path / "run" / "checkpoints").exists()


def test_a_bad_data_option_is_a_config_error(tmp_path):
    cfg = compose_config([*FAST, "data=folder", "data.channels=2"], tmp_path)
    with pytest.raises(InstantiationException) as error:
        instantiate(cfg.data)
    assert isinstance(error.value.__cause__, ConfigError) and "data.channels" in str(error.value)


@pytest.mark.parametrize("preset", ["sngan_cnn", "sngan_cnn_ns", "sngan_resnet", "wgan_gp_resnet"])
def test_image_recipe_presets_train_on_cifar10_files(preset, tmp_path):
    """The CIFAR-10 pipeline of each paper recipe, from files in CIFAR's own format, with an averaged
    generator: narrow networks and two iterations (the schedule decays over those two)."""
    overrides = [*FAST, f"experiment={preset}", "data=cifar10", *fake_files("cifar10", tmp_path / "data"), "ema=on"]
    overrides += ["model.generator.width=16", "model.critic.width=16", "batch_size=4", "trainer.max_steps=2"]
    cfg = compose_config(overrides, tmp_path / "run")
    L.seed_everything(cfg.seed)
    datamodule, module, trainer = build_run(cfg)
    trainer.fit(module, datamodule=datamodule)
    assert module.iteration == 2 and datamodule.shape == (3, 32, 32)
    assert (tmp_path / "run" / "samples" / "ema_iter_000002.png").exists()
    assert all(torch.isfinite(p).all() for p in module.generator_ema.parameters())
