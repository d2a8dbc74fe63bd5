"""Output shapes of every architecture for every resolution and channel count."""

import itertools

import pytest
import torch

from conftest import CONF, FAST, compose_config
from ganarena.errors import ConfigError
from ganarena.models.dcgan import DCGANCritic, DCGANGenerator
from ganarena.models.mlp import MLPCritic, MLPGenerator
from ganarena.models.resnet import ResNetCritic, ResNetGenerator
from ganarena.models.sngan_cnn import SNGANCNNCritic, SNGANCNNGenerator
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


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _conv(c_in: int, c_out: int, k: int) -> int:
    return c_in * c_out * k * k + c_out


def test_sngan_cnn_parameter_count_is_the_papers_table_3():
    """Layer by layer from Table 3 (CIFAR-10, 32x32, width 512), with mimicry's batch norm after the dense layer."""
    generator = 128 * 4 * 4 * 512 + 4 * 4 * 512 + 2 * (512 + 256 + 128 + 64)
    generator += _conv(512, 256, 4) + _conv(256, 128, 4) + _conv(128, 64, 4) + _conv(64, 3, 3)
    widths = [3, 64, 64, 128, 128, 256, 256, 512]
    critic = (
        sum(_conv(a, b, 3 if i % 2 == 0 else 4) for i, (a, b) in enumerate(itertools.pairwise(widths)))
        + 4 * 4 * 512
        + 1
    )
    assert (generator, critic) == (3_813_379, 2_935_873)
    assert _count(SNGANCNNGenerator(128, (3, 32, 32))) == generator
    assert _count(SNGANCNNCritic((3, 32, 32), norm="none")) == critic


def test_resnet_parameter_counts_are_the_references():
    """32x32: 4.28M / 1.05M as PyTorch-StudioGAN and mimicry list for SNGAN; WGAN-GP's gan_cifar_resnet
    is the same with 128 generator channels. The larger ones are counted from mimicry's sngan_48/64/128."""
    up = 2 * 2 * 256 + 2 * _conv(256, 256, 3) + _conv(256, 256, 1)
    sngan_32_g = 128 * 16 * 256 + 16 * 256 + 3 * up + 2 * 256 + _conv(256, 3, 3)
    sngan_32_d = _conv(3, 128, 3) + _conv(128, 128, 3) + _conv(3, 128, 1)  # optimized block
    sngan_32_d += 2 * _conv(128, 128, 3) + _conv(128, 128, 1) + 2 * 2 * _conv(128, 128, 3) + 128 + 1
    assert (sngan_32_g, sngan_32_d) == (4_276_739, 1_053_825)
    expected = {
        (32, None): (4_276_739, 1_053_825),
        (32, 128): (1_204_483, 1_053_825),  # WGAN-GP: width 128 on both sides
        (48, None): (4_878_083, 19_542_721),
        (64, None): (12_220_675, 19_542_721),
        (128, None): (32_150_787, 38_419_137),
    }
    for (resolution, width), counts in expected.items():
        shape = (3, resolution, resolution)
        critic_width = 128 if width else None
        got = (_count(ResNetGenerator(128, shape, width)), _count(ResNetCritic(shape, critic_width, norm="none")))
        assert got == counts, (resolution, width)


@pytest.mark.parametrize("resolution", [32, 48])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("norm", ["batch", "layer", "none"])
def test_sngan_cnn_shapes(resolution, channels, norm):
    shape = (channels, resolution, resolution)
    images = SNGANCNNGenerator(16, shape, width=32)(torch.randn(4, 16))
    assert images.shape == (4, *shape) and images.abs().max() <= 1
    assert SNGANCNNCritic(shape, width=32, norm=norm)(images).shape == (4,)


@pytest.mark.parametrize("resolution", [32, 48, 64, 128])
@pytest.mark.parametrize("channels", [1, 3])
def test_resnet_shapes(resolution, channels):
    shape = (channels, resolution, resolution)
    images = ResNetGenerator(16, shape, width=32)(torch.randn(2, 16))
    assert images.shape == (2, *shape) and images.abs().max() <= 1
    for norm in ("batch", "layer", "none"):
        assert ResNetCritic(shape, width=32, norm=norm)(images).shape == (2,)


def test_new_networks_refuse_what_they_cannot_model():
    with pytest.raises(ConfigError, match="model=mlp"):
        ResNetCritic((2,))
    with pytest.raises(ConfigError, match="model=resnet"):
        SNGANCNNGenerator(16, (3, 64, 64))
    with pytest.raises(ConfigError, match="resolutions"):
        ResNetGenerator(16, (3, 40, 40))
    with pytest.raises(ConfigError, match="multiple of 8"):
        SNGANCNNCritic((3, 32, 32), width=12)
