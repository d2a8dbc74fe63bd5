"""DiffAugment's operations against their definitions, the adaptive probability's update, and
where the GANModule applies augmentation: every critic input in both passes, while the loss's
distance and the penalties see the images before augmentation."""

import pytest
import torch
from torch import nn

from ganarena.errors import ConfigError
from ganarena.game.augment import (
    AdaptiveDiffAugment,
    DiffAugment,
    NoAugment,
    brightness,
    contrast,
    cutout,
    saturation,
    translation,
)
from ganarena.game.losses import GANQPLoss
from ganarena.game.module import GANModule
from ganarena.game.penalties import R1Penalty
from ganarena.models.mlp import MLPCritic, MLPGenerator


def dot_images(n: int = 64, size: int = 32) -> torch.Tensor:
    """One bright pixel at the centre of each otherwise zero image."""
    x = torch.zeros(n, 1, size, size)
    x[:, :, size // 2, size // 2] = 1.0
    return x


def test_translation_shifts_each_image_by_at_most_an_eighth_of_its_size():
    torch.manual_seed(0)
    moved = translation(dot_images())
    assert torch.equal(moved.sum(dim=(1, 2, 3)), torch.ones(64))  # the dot is moved, not lost
    rows, cols = (moved[:, 0] == 1).nonzero()[:, 1:].T
    dy, dx = rows - 16, cols - 16
    assert dy.abs().max() == 4 and dx.abs().max() == 4  # int(32 / 8 + 0.5) = 4, both signs reached
    assert dy.min() == -4 and dx.min() == -4
    assert len({(a, b) for a, b in zip(dy.tolist(), dx.tolist(), strict=True)}) > 20  # per-sample shifts


def test_translation_fills_with_zeros():
    torch.manual_seed(1)
    moved = translation(torch.ones(64, 1, 8, 8))  # shifts of up to 1 pixel
    zero_rows = (moved == 0).all(dim=3).sum(dim=(1, 2))
    assert set(zero_rows.tolist()) == {0, 1}
    assert set(moved.unique().tolist()) == {0.0, 1.0}


def test_cutout_zeroes_one_square_of_half_the_size_clipped_at_the_border():
    torch.manual_seed(2)
    out = cutout(torch.ones(200, 3, 32, 32))
    holes = out[:, 0] == 0
    assert torch.equal(holes, (out == 0).all(dim=1))  # the same square in every channel
    for hole in holes:
        rows, cols = hole.any(dim=1).nonzero().flatten(), hole.any(dim=0).nonzero().flatten()
        assert hole[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1].all()  # a rectangle
        assert len(rows) <= 16 and len(cols) <= 16
    full = holes.sum(dim=(1, 2)) == 256
    assert 0.1 < full.float().mean() < 0.9  # whole squares inside, clipped ones at the border


def test_color_operations_match_their_definitions():
    torch.manual_seed(3)
    x = torch.rand(500, 3, 4, 4) * 2 - 1
    shift = brightness(x) - x  # one constant per image, in [-0.5, 0.5]
    assert torch.allclose(shift, shift[:, :1, :1, :1].expand_as(shift), atol=1e-6)
    assert shift.min().item() >= -0.5 and shift.max().item() <= 0.5 and shift.std().item() > 0.25
    grey = x[:, :1].repeat(1, 3, 1, 1)
    assert torch.allclose(saturation(grey), grey, atol=1e-6)  # grey images have nothing to saturate
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    factor = ((contrast(x) - mean) / (x - mean)).flatten(1)  # one factor per image, in [0.5, 1.5]
    assert torch.allclose(factor, factor[:, :1].expand_as(factor), rtol=1e-3, atol=1e-3)
    assert factor.min().item() >= 0.5 and factor.max().item() <= 1.5
    assert torch.allclose(contrast(x).mean(dim=(1, 2, 3)), x.mean(dim=(1, 2, 3)), atol=1e-5)


def test_augmentation_is_differentiable():
    torch.manual_seed(4)
    x = torch.randn(8, 3, 16, 16, requires_grad=True)
    DiffAugment(["color", "translation", "cutout"])(x).sum().backward()
    assert x.grad.abs().sum() > 0 and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_each_operation_is_applied_to_each_sample_with_probability_p(p):
    torch.manual_seed(5)
    x = dot_images(4000, 16)
    moved = DiffAugment(["translation"], p=p)(x)
    changed = (moved != x).flatten(1).any(dim=1).float().mean().item()
    # A translation by (0, 0) leaves the image as it was: 1 in 25 for 16x16 images (shifts -2..2).
    assert abs(changed - p * 24 / 25) < 0.03


def test_bad_settings_and_toy_data_are_refused_with_the_fix():
    with pytest.raises(ConfigError, match=r"augment\.policy must list some of"):
        DiffAugment(["colour"])
    with pytest.raises(ConfigError, match=r"probability in \[0, 1\]"):
        DiffAugment(p=1.5)
    with pytest.raises(ConfigError, match="use augment=none with toy data"):
        DiffAugment()(torch.zeros(4, 2))
    with pytest.raises(ConfigError, match=r"augment\.target"):
        AdaptiveDiffAugment(target=1.0)


def test_adaptive_p_moves_by_the_sign_of_r_t_minus_target_once_per_interval():
    augment = AdaptiveDiffAugment(target=0.6, speed_images=1000, interval=4, initial_p=0.5)
    overfit = torch.tensor([1.0, 2.0, 3.0, -1.0, 4.0, 5.0, 6.0, 7.0])  # r_t = 6/8 = 0.75 > 0.6
    for _ in range(3):
        augment.observe(overfit)
    assert augment.p.item() == 0.5  # the window is still open
    augment.observe(overfit)
    assert augment.p.item() == pytest.approx(0.5 + 32 / 1000, abs=1e-12)  # 4 batches of 8 images
    assert augment.window.tolist() == [0.0, 0.0, 0.0]
    balanced = torch.tensor([1.0, -1.0] * 4)  # r_t = 0 < 0.6: p falls, and stops at 0
    for _ in range(4 * 20):
        augment.observe(balanced)
    assert augment.p.item() == 0.0
    assert augment.metrics()["augment_p"].item() == 0.0
    assert set(augment.state_dict()) == {"p", "window"}  # checkpointed with the module


class Scale(NoAugment):
    """A deterministic stand-in for augmentation: x -> 3x; records what it sees."""

    def __init__(self):
        super().__init__()
        self.seen, self.observed = [], []

    def forward(self, x):
        self.seen.append(x)
        return 3 * x

    def observe(self, d_real):
        self.observed.append(d_real)


def test_every_critic_input_is_augmented_and_the_loss_and_penalty_see_the_images_before():
    torch.manual_seed(6)
    generator = MLPGenerator(latent_dim=4, data_shape=(3,), hidden=8, depth=2)
    critic = MLPCritic(data_shape=(3,), hidden=8, depth=2)
    loss, r1, augment = GANQPLoss(weight=2.0), R1Penalty(gamma=4.0), Scale()
    module = GANModule(generator, critic, loss, constraints=[r1], augment=augment)
    z, real = torch.randn(5, 4), torch.randn(5, 3)
    module.sample_noise = lambda n: z[:n]
    fake = generator(z).detach()

    total, logs = module.critic_objective(real, critic_step=0)
    # The critic scores 3x; GAN-QP's distance and R1's gradient are taken at the images themselves.
    expected_loss = loss.critic_loss(critic(3 * real), critic(3 * fake), real, fake)
    expected_penalty = r1.penalty(lambda x: critic(3 * x), real, fake)
    assert logs["critic_loss"].item() == pytest.approx(expected_loss.item(), rel=1e-6)
    assert logs["penalty"].item() == pytest.approx(expected_penalty.item(), rel=1e-6)
    assert total.item() == pytest.approx((expected_loss + expected_penalty).item(), rel=1e-6)
    assert len(augment.seen) == 3  # real, fake, and R1's real points
    assert torch.equal(augment.observed[0], critic(3 * real).detach())

    augment.seen.clear()
    generator_loss = module.generator_objective(real)
    assert len(augment.seen) == 2  # fake, and real for GAN-QP's generator loss
    assert generator_loss.item() == pytest.approx((critic(3 * real) - critic(3 * fake)).mean().item(), rel=1e-6)
    # The fakes enter the augmentation inside the graph: the generator learns through it.
    assert augment.seen[0].requires_grad


def test_a_module_without_augmentation_scores_the_images_as_they_are():
    generator = MLPGenerator(latent_dim=2, data_shape=(2,), hidden=8, depth=2)
    critic = MLPCritic(data_shape=(2,), hidden=8, depth=2)
    module = GANModule(generator, critic, GANQPLoss())
    x = torch.randn(4, 2)
    assert isinstance(module.augment, NoAugment) and torch.equal(module.score(critic, x), critic(x))
    assert module.augment.metrics() == {} and not list(module.augment.state_dict())
    assert isinstance(module.augment, nn.Module)
