"""Output shapes of every architecture for every resolution and channel count."""

import pytest
import torch

from conftest import CONF, FAST, compose_config
from ganarena.errors import ConfigError
from ganarena.models.dcgan import DCGANCritic, DCGANGenerator
from ganarena.models.mlp import MLPCritic, MLPGenerator
from ganarena.run.build import build_module

MODELS = sorted(p.stem for p in (CONF / "model").glob("*.yaml"))


@pytest.mark.parametrize("resolution", [32, 64])
@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("norm", ["batch", "layer", "none"])
def test_dcgan_shapes(resolution, channels, norm):
    shape = (channels, resolution, resolution)
    generator = DCGANGenerator(latent_dim=16, data_shape=shape, width=8)
    critic = DCGANCritic(shape, width=8, norm=norm)
    images = generator(torch.randn(5, 16))
    assert images.shape == (5, *shape)
    assert images.min() >= -1 and images.max() <= 1
    assert critic(images).shape == (5,)


@pytest.mark.parametrize("shape", [(2,), (1, 32, 32), (3, 64, 64)])
def test_mlp_shapes(shape):
    generator = MLPGenerator(latent_dim=8, data_shape=shape, hidden=16, depth=2)
    samples = generator(torch.randn(6, 8))
    assert samples.shape == (6, *shape)
    assert MLPCritic(shape, hidden=16, depth=2)(samples).shape == (6,)


def test_mlp_output_is_bounded_for_images_only():
    points = MLPGenerator(8, (2,), hidden=16)
    images = MLPGenerator(8, (1, 32, 32), hidden=16)
    with torch.no_grad():
        for p in list(points.parameters()) + list(images.parameters()):
            p.fill_(1.0)
    assert points(torch.ones(2, 8)).abs().max() > 1
    assert images(torch.ones(2, 8)).abs().max() <= 1


def test_dcgan_refuses_what_it_cannot_model():
    with pytest.raises(ValueError, match="model=mlp"):
        DCGANCritic((2,))
    with pytest.raises(ValueError, match="resolutions"):
        DCGANGenerator(16, (3, 48, 48))
    with pytest.raises(ValueError, match="batch, layer, none"):
        DCGANCritic((1, 32, 32), norm="instance")


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("shape", [(1, 32, 32), (3, 32, 32), (2,)], ids=["gray32", "rgb32", "points"])
def test_every_model_option_maps_noise_to_samples_to_scores(model, shape):
    """Read from conf/model/: a new architecture is checked without editing this file."""
    cfg = compose_config([*FAST, f"model={model}", "latent_dim=8"])
    try:
        module = build_module(cfg, shape)
    except ConfigError as error:
        # Only toy points may be refused (image networks), and then with a way out.
        assert len(shape) == 1 and "model=" in str(error), error
        return
    samples = module.generator(torch.randn(3, 8))
    assert samples.shape == (3, *shape)
    assert module.critic(samples).shape == (3,)
