"""Every objective against its closed form, plus the properties that tell them apart, and the
direction in which one real generator update moves the critic's scores for every configured loss."""

import itertools
import math
from functools import partial

import lightning as L
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch.utils.data import DataLoader

from conftest import CONF
from ganarena.game.losses import (
    GANQPLoss,
    LeastSquaresLoss,
    MinimaxLoss,
    NonSaturatingLoss,
    WassersteinLoss,
    pairwise_distance,
)
from ganarena.game.module import GANModule
from ganarena.models.mlp import MLPCritic, MLPGenerator

POINTS = [(0.0, 0.0), (1.5, -0.5), (-2.0, 3.0), (0.3, 0.7)]
LOSS_OPTIONS = {path.stem: OmegaConf.load(path) for path in sorted((CONF / "loss").glob("*.yaml"))}


def softplus(t: float) -> float:
    return math.log1p(math.exp(t))


def relu(t: float) -> float:
    return max(0.0, t)


# One row per `loss=` option: (critic loss, generator loss) at constant scores r and f, with the
# option's default settings and real and fake samples one unit apart (GAN-QP's distance d = 1).
CLOSED_FORMS = {
    "gan": (lambda r, f: softplus(-r) + softplus(f), lambda r, f: -softplus(f)),
    "ns_gan": (lambda r, f: softplus(-r) + softplus(f), lambda r, f: softplus(-f)),
    "wgan": (lambda r, f: f - r, lambda r, f: -f),
    "lsgan": (lambda r, f: 0.5 * (r - 1) ** 2 + 0.5 * f**2, lambda r, f: 0.5 * (f - 1) ** 2),
    "hinge": (lambda r, f: relu(1 - r) + relu(1 + f), lambda r, f: -f),
    "gan_qp": (lambda r, f: -(r - f) + (r - f) ** 2 / (2 * 10.0 * 1.0), lambda r, f: r - f),
    # Relativistic (Jolicoeur-Martineau 2018); at constant scores a batch mean is the score itself.
    "rsgan": (lambda r, f: softplus(f - r), lambda r, f: softplus(r - f)),
    "rasgan": (
        lambda r, f: (softplus(-(r - f)) + softplus(f - r)) / 2,
        lambda r, f: (softplus(r - f) + softplus(-(f - r))) / 2,
    ),
    "ralsgan": (
        lambda r, f: ((r - f - 1) ** 2 + (f - r + 1) ** 2) / 2,
        lambda r, f: ((r - f + 1) ** 2 + (f - r - 1) ** 2) / 2,
    ),
    "rahinge": (
        lambda r, f: (relu(1 - (r - f)) + relu(1 + (f - r))) / 2,
        lambda r, f: (relu(1 + (r - f)) + relu(1 - (f - r))) / 2,
    ),
}


def make_loss(option: str):
    return instantiate(LOSS_OPTIONS[option])


def scores(value: float, n: int = 4) -> torch.Tensor:
    return torch.full((n,), value)


def test_every_loss_option_has_a_closed_form_row():
    assert sorted(CLOSED_FORMS) == sorted(LOSS_OPTIONS)


@pytest.mark.parametrize("option", sorted(LOSS_OPTIONS))
@pytest.mark.parametrize(("r", "f"), POINTS)
def test_closed_form_values(option, r, f):
    critic_form, generator_form = CLOSED_FORMS[option]
    loss = make_loss(option)
    x_real, x_fake = torch.zeros(4, 2), torch.ones(4, 2)
    assert abs(loss.critic_loss(scores(r), scores(f), x_real, x_fake).item() - critic_form(r, f)) < 1e-5
    assert abs(loss.generator_loss(scores(r), scores(f)).item() - generator_form(r, f)) < 1e-5


def test_losses_are_batch_means():
    r, f = torch.tensor([0.0, 2.0]), torch.tensor([-1.0, 1.0])
    expected = (softplus(-0.0) + softplus(-2.0)) / 2 + (softplus(-1.0) + softplus(1.0)) / 2
    assert abs(NonSaturatingLoss().critic_loss(r, f, None, None).item() - expected) < 1e-6


def test_minimax_generator_loss_saturates_where_non_saturating_does_not():
    # At a confidently rejected sample (f << 0) the minimax gradient vanishes, the NS one does not.
    f = torch.tensor([-8.0], requires_grad=True)
    (grad_minimax,) = torch.autograd.grad(MinimaxLoss().generator_loss(None, f), f)
    (grad_ns,) = torch.autograd.grad(NonSaturatingLoss().generator_loss(None, f), f)
    assert abs(grad_minimax.item()) < 1e-3
    assert abs(grad_ns.item() + 1.0) < 1e-3  # d/df softplus(-f) = -sigma(-f) ~ -1
    # And the two are different functions with the same minimiser direction.
    assert abs(MinimaxLoss().generator_loss(None, f).item() - NonSaturatingLoss().generator_loss(None, f).item()) > 1


@pytest.mark.parametrize("option", sorted(LOSS_OPTIONS))
def test_generator_loss_decreases_as_fake_score_rises(option):
    loss = make_loss(option)
    f = torch.linspace(-3, 1, 9)  # up to LSGAN's target, past which its generator loss rises again
    values = [loss.generator_loss(scores(0.5, 1), f[i : i + 1]).item() for i in range(len(f))]
    assert all(b < a for a, b in itertools.pairwise(values))


def test_lsgan_generator_loss_decreases_towards_its_target():
    f = torch.linspace(-3, 1, 9)
    values = [LeastSquaresLoss().generator_loss(None, f[i : i + 1]).item() for i in range(len(f))]
    assert all(b < a for a, b in itertools.pairwise(values))
    assert values[-1] == 0.0


def test_gan_qp_closed_form():
    loss = GANQPLoss(weight=10.0, distance="l1")
    x_real = torch.zeros(2, 1, 2, 2)
    x_fake = torch.stack([torch.full((1, 2, 2), 0.5), torch.full((1, 2, 2), -2.0)])
    r, f = torch.tensor([1.0, 3.0]), torch.tensor([0.0, -1.0])
    d = torch.tensor([0.5, 2.0])  # per-sample mean |x_r - x_f|
    expected = (-(r - f) + (r - f) ** 2 / (2 * 10.0 * d)).mean()
    assert abs(loss.critic_loss(r, f, x_real, x_fake).item() - expected.item()) < 1e-6
    assert abs(loss.generator_loss(r, f).item() - (r - f).mean().item()) < 1e-6


@pytest.mark.parametrize("distance", ["l1", "l2"])
@pytest.mark.parametrize("weight", [1.0, 10.0])
def test_gan_qp_critic_objective_peaks_at_lambda_times_distance(distance, weight):
    x_real = torch.zeros(1, 3, 4, 4)
    x_fake = torch.linspace(-1, 1, 48).view(1, 3, 4, 4)
    d = pairwise_distance(x_real, x_fake, distance).item()
    loss = GANQPLoss(weight=weight, distance=distance)
    gaps = torch.linspace(0, 3 * weight * d, 3001)
    objective = torch.tensor([-loss.critic_loss(g.view(1), torch.zeros(1), x_real, x_fake).item() for g in gaps])
    best_gap = gaps[objective.argmax()].item()
    assert abs(best_gap - weight * d) < 3 * weight * d / 3000 + 1e-6
    assert abs(objective.max().item() - weight * d / 2) < 1e-4  # value at the peak: lambda d / 2


def test_gan_qp_distance_is_per_sample():
    x_real = torch.zeros(3, 2)
    x_fake = torch.tensor([[1.0, 1.0], [0.0, 2.0], [3.0, -3.0]])
    assert torch.allclose(pairwise_distance(x_real, x_fake, "l1"), torch.tensor([1.0, 1.0, 3.0]))
    assert torch.allclose(pairwise_distance(x_real, x_fake, "l2"), torch.tensor([1.0, math.sqrt(2.0), 3.0]))
    # Swapping which fake pairs with which real changes the loss: the pairing is by position.
    loss = GANQPLoss(weight=1.0)
    r, f = torch.tensor([2.0, 2.0, 2.0]), torch.zeros(3)
    x_real2 = torch.stack([torch.zeros(2), torch.zeros(2), torch.full((2,), 3.0)])
    a = loss.critic_loss(r, f, x_real2, x_fake).item()
    b = loss.critic_loss(r, f, x_real2.flip(0), x_fake).item()
    assert abs(a - b) > 1e-3


def test_gan_qp_rejects_bad_settings():
    with pytest.raises(ValueError, match="'l1' or 'l2'"):
        GANQPLoss(distance="linf")
    with pytest.raises(ValueError, match="positive"):
        GANQPLoss(weight=0)


# Batches whose scores vary: the relativistic average losses compare each score with the other
# side's batch mean, RSGAN pairs real and fake by position.
R_BATCH, F_BATCH = [1.0, -0.5, 2.0], [0.25, -1.0, 3.0]


def test_relativistic_average_losses_compare_each_score_with_the_other_sides_mean():
    r, f = torch.tensor(R_BATCH), torch.tensor(F_BATCH)
    mean_r, mean_f = sum(R_BATCH) / 3, sum(F_BATCH) / 3
    a = [x - mean_f for x in R_BATCH]  # real relative to the average fake
    b = [x - mean_r for x in F_BATCH]  # fake relative to the average real
    forms = {  # (wants high, wants low) of each loss
        "rasgan": (lambda t: softplus(-t), softplus),
        "ralsgan": (lambda t: (t - 1) ** 2, lambda t: (t + 1) ** 2),
        "rahinge": (lambda t: relu(1 - t), lambda t: relu(1 + t)),
    }
    for option, (high, low) in forms.items():
        loss = make_loss(option)
        critic = (sum(map(high, a)) / 3 + sum(map(low, b)) / 3) / 2
        generator = (sum(map(low, a)) / 3 + sum(map(high, b)) / 3) / 2
        assert abs(loss.critic_loss(r, f, None, None).item() - critic) < 1e-5, option
        assert abs(loss.generator_loss(r, f).item() - generator) < 1e-5, option
        assert loss.needs_real_scores


def test_rsgan_pairs_real_and_fake_by_position():
    r, f = torch.tensor(R_BATCH), torch.tensor(F_BATCH)
    loss = make_loss("rsgan")
    critic = sum(softplus(y - x) for x, y in zip(R_BATCH, F_BATCH, strict=True)) / 3
    assert abs(loss.critic_loss(r, f, None, None).item() - critic) < 1e-5
    generator = sum(softplus(x - y) for x, y in zip(R_BATCH, F_BATCH, strict=True)) / 3
    assert abs(loss.generator_loss(r, f).item() - generator) < 1e-5
    assert abs(loss.critic_loss(r, f.flip(0), None, None).item() - critic) > 1e-3


@pytest.mark.parametrize("option", ["rsgan", "rasgan", "ralsgan", "rahinge"])
def test_relativistic_critic_prefers_real_above_fake_and_its_generator_the_reverse(option):
    """Raising every real score (fake fixed) lowers the critic's loss and raises the generator's."""
    loss = make_loss(option)
    f = torch.tensor(F_BATCH)
    shifts = torch.linspace(-0.9, 0.5, 6)  # where RaLSGAN's quadratics are monotone (mean gap in (-1, 1))
    critic = [loss.critic_loss(torch.tensor(F_BATCH) + s, f, None, None).item() for s in shifts]
    generator = [loss.generator_loss(torch.tensor(F_BATCH) + s, f).item() for s in shifts]
    assert all(b < a for a, b in itertools.pairwise(critic))
    assert all(b > a for a, b in itertools.pairwise(generator))
    # Only the difference counts: shifting both sides alike changes nothing.
    base = loss.critic_loss(torch.tensor(R_BATCH), f, None, None)
    assert abs(loss.critic_loss(torch.tensor(R_BATCH) + 5, f + 5, None, None).item() - base.item()) < 1e-5


@pytest.mark.parametrize("option", ["ralsgan", "rahinge"])
def test_relativistic_average_critic_optimum_is_real_one_above_the_average_fake(option):
    """RaLSGAN's critic loss is 0 exactly at r - mean f = 1 and f - mean r = -1; RaHinge's for any gap >= 1."""
    loss = make_loss(option)
    f = torch.tensor([0.0, 0.0])
    assert loss.critic_loss(torch.tensor([1.0, 1.0]), f, None, None).item() == 0.0
    assert loss.critic_loss(torch.tensor([0.9, 0.9]), f, None, None).item() > 0.0
    assert (loss.critic_loss(torch.tensor([2.0, 2.0]), f, None, None).item() > 0.0) == (option == "ralsgan")


def test_wgan_reports_its_distance_estimate():
    metrics = WassersteinLoss().critic_metrics(torch.tensor([2.0, 4.0]), torch.tensor([1.0, 1.0]))
    assert abs(metrics["wasserstein_estimate"].item() - 2.0) < 1e-6


LOSS_CONFIGS = sorted((CONF / "loss").glob("*.yaml"))
GENERATOR_LR = 1e-3


@pytest.mark.parametrize("config", LOSS_CONFIGS, ids=lambda path: path.stem)
def test_one_generator_update_raises_the_frozen_critics_scores_on_fakes(config):
    """A training step whose critic cannot move (lr 0): the generator's SGD step must raise the mean
    score the critic gives its samples, by what the first-order expansion of that step predicts."""
    torch.manual_seed(0)
    loss = instantiate(OmegaConf.load(config))
    generator = MLPGenerator(latent_dim=4, data_shape=(2,), hidden=16, depth=2)
    critic = MLPCritic(data_shape=(2,), hidden=16, depth=2)
    module = GANModule(
        generator=generator,
        critic=critic,
        loss=loss,
        generator_optimizer=partial(torch.optim.SGD, lr=GENERATOR_LR),
        critic_optimizer=partial(torch.optim.SGD, lr=0.0),
    )
    z, real = torch.randn(32, 4), torch.randn(32, 2)
    module.sample_noise = lambda n: z[:n]  # the step trains on the noise the scores are read on

    params = list(generator.parameters())
    mean_score = critic(generator(z)).mean()
    d_real = critic(real).detach() if loss.needs_real_scores else None
    generator_loss = loss.generator_loss(d_real, critic(generator(z)))
    score_gradient = torch.autograd.grad(mean_score, params)
    loss_gradient = torch.autograd.grad(generator_loss, params)
    # SGD moves the weights by -lr * dloss; the mean score moves by its gradient dotted with that.
    predicted = -GENERATOR_LR * sum((s * g).sum() for s, g in zip(score_gradient, loss_gradient, strict=True)).item()
    critic_before = {k: v.clone() for k, v in critic.state_dict().items()}

    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(module, DataLoader([real], batch_size=None))

    assert module.iteration == 1
    assert all(torch.equal(v, critic.state_dict()[k]) for k, v in critic_before.items())  # frozen indeed
    with torch.no_grad():
        rise = critic(generator(z)).mean().item() - mean_score.item()
    assert predicted > 0
    assert 0.9 * predicted < rise < 1.1 * predicted, (rise, predicted)
