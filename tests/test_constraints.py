"""Clipping bounds, the gradient penalties' closed forms (WGAN-GP, R1, R2, DRAGAN), lazy
regularisation, spectral norm, and their composition."""

import pytest
import torch
from torch import nn

from ganarena.game.constraints import (
    Constraint,
    GradientPenalty,
    SpectralNorm,
    WeightClip,
    critic_penalty,
    preferred_critic_norm,
)
from ganarena.game.penalties import DRAGANPenalty, R1Penalty, R2Penalty
from ganarena.models.dcgan import DCGANCritic
from ganarena.models.mlp import MLPCritic


class LinearCritic(nn.Module):
    def __init__(self, w: torch.Tensor):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x):
        return x.flatten(1) @ self.w.flatten() + 0.3


def test_clip_bounds_every_critic_parameter():
    critic = DCGANCritic((3, 32, 32), width=8, norm="batch")
    with torch.no_grad():
        for p in critic.parameters():
            p.normal_(0, 1)
    WeightClip(0.01).after_critic_step(critic)
    values = torch.cat([p.flatten() for p in critic.parameters()])
    assert values.abs().max().item() <= 0.01
    assert values.abs().max().item() > 0.009  # it clamps, it does not zero


@pytest.mark.parametrize("shape", [(2,), (1, 4, 4), (3, 4, 4), (5, 2, 2)])
@pytest.mark.parametrize("weight", [1.0, 10.0])
def test_gradient_penalty_of_linear_critic_is_closed_form(shape, weight):
    torch.manual_seed(0)
    w = torch.randn(shape)
    critic = LinearCritic(w)
    x_real, x_fake = torch.randn(8, *shape), torch.randn(8, *shape)
    penalty = GradientPenalty(weight=weight).penalty(critic, x_real, x_fake)
    expected = weight * (w.norm() - 1) ** 2
    assert abs(penalty.item() - expected.item()) < 1e-4 * max(1.0, expected.item())


def test_gradient_penalty_is_differentiable_in_critic_weights():
    w = torch.tensor([3.0, 4.0])
    critic = LinearCritic(w)
    penalty = GradientPenalty(weight=10.0).penalty(critic, torch.randn(4, 2), torch.randn(4, 2))
    penalty.backward()
    # d/dw 10 (||w|| - 1)^2 = 20 (||w|| - 1) w / ||w|| = 20 * 4 * w / 5
    assert torch.allclose(critic.w.grad, 16 * w, atol=1e-4)


def test_gradient_penalty_interpolates_per_sample():
    # A critic that records what it sees: each interpolate lies on its own real-fake segment.
    seen = {}

    class Recorder(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.ones(1))

        def forward(self, x):
            seen["x"] = x.detach().clone()
            return (x.flatten(1) * self.w).sum(1)

    x_real = torch.zeros(64, 3, 2, 2)
    x_fake = torch.ones(64, 3, 2, 2)
    GradientPenalty().penalty(Recorder(), x_real, x_fake)
    eps = seen["x"]  # x_hat = eps * 0 + (1 - eps) * 1
    per_sample = eps.flatten(1)
    assert torch.allclose(per_sample, per_sample[:, :1].expand_as(per_sample))  # one eps per sample
    assert per_sample[:, 0].std() > 0.1  # and different across samples


def test_gradient_penalty_refuses_batch_norm_critic():
    with pytest.raises(ValueError, match="norm=layer"):
        GradientPenalty().apply(DCGANCritic((1, 32, 32), width=8, norm="batch"))
    GradientPenalty().apply(DCGANCritic((1, 32, 32), width=8, norm="layer"))


def _largest_singular_values(critic):
    values = []
    for module in critic.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            matrix = module.weight.detach().flatten(1)
            values.append(torch.linalg.matrix_norm(matrix, ord=2).item())
    return values


@pytest.mark.parametrize(
    "critic",
    [lambda: DCGANCritic((3, 32, 32), width=8, norm="none"), lambda: MLPCritic((2,), hidden=32)],
)
def test_spectral_norm_makes_every_weight_unit_norm(critic):
    critic = critic()
    with torch.no_grad():
        for p in critic.parameters():
            p.mul_(5)
    assert max(_largest_singular_values(critic)) > 2
    SpectralNorm().apply(critic)
    x = torch.randn(4, *((3, 32, 32) if isinstance(critic, DCGANCritic) else (2,)))
    for _ in range(20):  # power iterations run in training-mode forwards
        critic(x)
    values = _largest_singular_values(critic)
    assert len(values) >= 3
    assert all(abs(v - 1) < 0.02 for v in values), values


def test_constraints_compose():
    critic = MLPCritic((2,), hidden=16, norm="none")
    constraints = [GradientPenalty(weight=10.0), SpectralNorm(), WeightClip(0.5)]
    for c in constraints:
        c.apply(critic)
    x_real, x_fake = torch.randn(8, 2), torch.randn(8, 2)
    penalty = sum(p for c in constraints if (p := c.penalty(critic, x_real, x_fake)) is not None)
    assert penalty.item() >= 0 and torch.isfinite(penalty)
    penalty.backward()
    assert any(p.grad is not None for p in critic.parameters())
    for c in constraints:
        c.after_critic_step(critic)
    assert all(p.abs().max() <= 0.5 for p in critic.parameters())
    assert abs(max(_largest_singular_values(critic)) - 1) < 0.05


def test_critic_norm_preference():
    assert preferred_critic_norm([]) is None
    assert preferred_critic_norm([WeightClip()]) is None
    assert preferred_critic_norm([GradientPenalty()]) == "layer"
    assert preferred_critic_norm([SpectralNorm()]) == "none"
    assert preferred_critic_norm([GradientPenalty(), SpectralNorm()]) == "none"


class QuadraticCritic(nn.Module):
    """D(x) = a/2 ||x||^2, whose input gradient is a x."""

    def __init__(self, a: float):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(a))

    def forward(self, x):
        return self.a / 2 * x.flatten(1).pow(2).sum(1)


@pytest.mark.parametrize("gamma", [1.0, 10.0])
def test_r1_and_r2_of_linear_and_quadratic_critics_are_closed_form(gamma):
    torch.manual_seed(0)
    x_real, x_fake = torch.randn(6, 1, 3, 3), 3 * torch.randn(6, 1, 3, 3)
    w = torch.randn(1, 3, 3)
    linear = LinearCritic(w.clone())
    # Linear: the gradient is w everywhere, on real and fake alike.
    for penalty in (R1Penalty(gamma), R2Penalty(gamma)):
        value = penalty.penalty(linear, x_real, x_fake).item()
        assert abs(value - gamma / 2 * w.pow(2).sum().item()) < 1e-4 * max(1.0, value)
    # Quadratic: the gradient a x differs by sample; R1 reads the real samples, R2 the fake ones.
    quadratic = QuadraticCritic(0.5)
    r1 = R1Penalty(gamma).penalty(quadratic, x_real, x_fake).item()
    r2 = R2Penalty(gamma).penalty(quadratic, x_real, x_fake).item()
    assert abs(r1 - gamma / 2 * 0.25 * x_real.flatten(1).pow(2).sum(1).mean().item()) < 1e-4 * r1
    assert abs(r2 - gamma / 2 * 0.25 * x_fake.flatten(1).pow(2).sum(1).mean().item()) < 1e-4 * r2
    # Differentiable in the critic's weights: d/da of gamma/2 a^2 E||x||^2 is gamma a E||x||^2.
    (grad,) = torch.autograd.grad(R1Penalty(gamma).penalty(quadratic, x_real, x_fake), quadratic.a)
    assert abs(grad.item() - gamma * 0.5 * x_real.flatten(1).pow(2).sum(1).mean().item()) < 1e-3 * grad.item()


def test_r1_is_zero_at_a_critic_flat_on_the_data():
    # A critic constant around the real points (gradient 0 there) is R1's optimum, whatever the fakes.
    flat = QuadraticCritic(1.0)
    assert R1Penalty(10.0).penalty(flat, torch.zeros(4, 2), torch.ones(4, 2)).item() == 0.0
    assert R2Penalty(10.0).penalty(flat, torch.zeros(4, 2), torch.ones(4, 2)).item() > 0.0


@pytest.mark.parametrize("weight", [1.0, 10.0])
def test_dragan_of_linear_critic_is_closed_form(weight):
    w = torch.tensor([0.6, 0.8, 2.0])
    value = DRAGANPenalty(weight).penalty(LinearCritic(w), torch.randn(5, 3), None).item()
    assert abs(value - weight * (w.norm().item() - 1) ** 2) < 1e-5 * max(1.0, value)
    assert DRAGANPenalty(weight).penalty(LinearCritic(w / w.norm()), torch.randn(5, 3), None).item() < 1e-10


@pytest.mark.parametrize("noise", ["uniform", "normal"])
def test_dragan_perturbs_real_samples_as_its_authors_code(noise):
    """x + alpha * 0.5 * std(x) * u, u ~ U[0,1] (code) or N(0,1) (paper), alpha ~ U[0,1] per sample."""
    torch.manual_seed(1)
    x = 2 * torch.randn(2000, 1, 2, 2)
    penalty = DRAGANPenalty(scale=0.5, noise=noise)
    delta = (penalty.perturbed(x) - x).flatten(1)
    bound = 0.5 * x.std().item()
    ratio = delta / bound  # alpha * u per pixel
    if noise == "uniform":
        assert ratio.min().item() >= 0 and ratio.max().item() <= 1 + 1e-6
        assert abs(ratio.mean().item() - 0.25) < 0.02  # E[alpha] E[u] = 1/4
    else:
        assert abs(ratio.mean().item()) < 0.03 and ratio.min().item() < 0
        assert abs(ratio.pow(2).mean().item() - 1 / 3) < 0.03  # E[alpha^2] E[u^2] = 1/3
    # One alpha per sample: with uniform u, the largest pixel of a sample bounds its alpha.
    no_alpha = DRAGANPenalty(scale=0.5, noise="uniform", interpolate=False)
    plain = (no_alpha.perturbed(x) - x).flatten(1) / bound
    assert abs(plain.mean().item() - 0.5) < 0.02
    # The penalty at a quadratic critic reads the gradient at exactly those points.
    torch.manual_seed(2)
    expected = 10.0 * ((penalty.perturbed(x).flatten(1).norm(dim=1) - 1) ** 2).mean()
    torch.manual_seed(2)
    assert abs(penalty.penalty(QuadraticCritic(1.0), x, None).item() - expected.item()) < 1e-3 * expected.item()


class CountingPenalty(Constraint):
    def __init__(self, value: float, every: int = 1):
        self.value, self.every, self.calls = value, every, 0

    def penalty(self, critic, x_real, x_fake):
        self.calls += 1
        return torch.tensor(self.value)


def test_lazy_penalties_are_due_every_k_critic_steps_k_times_as_heavy():
    lazy, eager = CountingPenalty(0.5, every=3), CountingPenalty(0.25)
    x = torch.zeros(2, 2)
    values = [critic_penalty([lazy, eager, WeightClip()], None, x, x, step).item() for step in range(7)]
    assert values == [1.5 + 0.25, 0.25, 0.25, 1.5 + 0.25, 0.25, 0.25, 1.5 + 0.25]
    assert lazy.calls == 3 and eager.calls == 7  # not evaluated when not due
    # The mean over k steps is the eager penalty's.
    assert abs(sum(critic_penalty([CountingPenalty(0.5, 4)], None, x, x, s).item() for s in range(8)) / 8 - 0.5) < 1e-7
    # No penalty anywhere: None (no train/penalty column); none due: 0.
    assert critic_penalty([WeightClip()], None, x, x, 0) is None
    assert critic_penalty([CountingPenalty(1.0, 2)], None, x, x, 1).item() == 0.0


@pytest.mark.parametrize("make", [GradientPenalty, R1Penalty, R2Penalty, DRAGANPenalty])
def test_every_penalty_takes_every_and_refuses_a_bad_one(make):
    assert make(every=16).every == 16
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError, match="`every` counts critic updates"):
            make(every=bad)
