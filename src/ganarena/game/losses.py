"""Adversarial objectives: one small class per loss, both sides minimised.

Scores are raw critic outputs of shape (N,), higher meaning "more real" (r on real data, f on
generated data); every term is a batch mean; docs/objectives.md gives each formula with its
paper. Losses know nothing about training: the GANModule decides when each side is called.

    loss = GANQPLoss(weight=10.0, distance="l1")
    loss.critic_loss(d_real, d_fake, x_real, x_fake)   # scalar
    loss.generator_loss(d_real, d_fake)                # scalar
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ganarena.errors import ConfigError


class AdversarialLoss:
    """Interface shared by every objective.

    `needs_real_scores` tells the training loop whether `generator_loss` reads `d_real`; when it
    does not, the loop skips the extra critic forward on real data and passes None.
    """

    needs_real_scores = False

    def critic_loss(self, d_real: Tensor, d_fake: Tensor, x_real: Tensor, x_fake: Tensor) -> Tensor:
        raise NotImplementedError

    def generator_loss(self, d_real: Tensor | None, d_fake: Tensor) -> Tensor:
        raise NotImplementedError

    def critic_metrics(self, d_real: Tensor, d_fake: Tensor) -> dict[str, Tensor]:
        """Extra quantities worth logging after a critic update (e.g. a distance estimate)."""
        return {}

    @classmethod
    def cautions(cls, constraint_classes: list[type]) -> list[str]:
        """Why this loss, with these constraints, is probably not what the user wants (empty if fine)."""
        return []


class MinimaxLoss(AdversarialLoss):
    """Original GAN (Goodfellow et al. 2014, eq. 1) with the saturating generator loss.

    The generator minimises log(1 - sigma(f)) = -softplus(f), whose gradient vanishes when the
    critic confidently rejects samples: that weakness is the point of comparing it.
    """

    def critic_loss(self, d_real, d_fake, x_real, x_fake):
        return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()

    def generator_loss(self, d_real, d_fake):
        return -F.softplus(d_fake).mean()

    @classmethod
    def cautions(cls, constraint_classes):
        return [
            "loss=gan uses the saturating generator loss log(1 - D(G(z))), whose gradient vanishes"
            " once the critic wins; it is here for comparison. loss=ns_gan is the usual choice."
        ]


class NonSaturatingLoss(MinimaxLoss):
    """GAN with the "maximise log D(G(z))" generator loss, -log sigma(f) = softplus(-f)."""

    def generator_loss(self, d_real, d_fake):
        return F.softplus(-d_fake).mean()

    @classmethod
    def cautions(cls, constraint_classes):
        return []


class WassersteinLoss(AdversarialLoss):
    """WGAN (Arjovsky et al. 2017). Needs a Lipschitz constraint (clip, gp or sn) to mean anything."""

    def critic_loss(self, d_real, d_fake, x_real, x_fake):
        return d_fake.mean() - d_real.mean()

    def generator_loss(self, d_real, d_fake):
        return -d_fake.mean()

    def critic_metrics(self, d_real, d_fake):
        return {"wasserstein_estimate": d_real.mean() - d_fake.mean()}

    @classmethod
    def cautions(cls, constraint_classes):
        if any(c.bounds_lipschitz for c in constraint_classes):
            return []
        return [
            "loss=wgan without a Lipschitz constraint: the critic's scores can grow without bound and"
            " the loss estimates no distance; add constraint=clip, gp or sn (or constraint=[gp,sn])."
        ]


class LeastSquaresLoss(AdversarialLoss):
    """LSGAN (Mao et al. 2017) with targets a=0 (fake), b=1 (real), c=1 (generator)."""

    def critic_loss(self, d_real, d_fake, x_real, x_fake):
        return 0.5 * (d_real - 1).pow(2).mean() + 0.5 * d_fake.pow(2).mean()

    def generator_loss(self, d_real, d_fake):
        return 0.5 * (d_fake - 1).pow(2).mean()


class HingeLoss(AdversarialLoss):
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018)."""

    def critic_loss(self, d_real, d_fake, x_real, x_fake):
        return F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()

    def generator_loss(self, d_real, d_fake):
        return -d_fake.mean()


def pairwise_distance(x_real: Tensor, x_fake: Tensor, norm: str) -> Tensor:
    """Distance between the i-th real and i-th fake sample, shape (N,).

    "l1" is the mean absolute difference over all non-batch dimensions, "l2" the root of the
    mean squared difference (GAN-QP's released code uses means, so lambda does not depend on
    the image size).
    """
    diff = (x_real - x_fake).flatten(1)
    if norm == "l1":
        return diff.abs().mean(dim=1)
    if norm == "l2":
        return diff.pow(2).mean(dim=1).sqrt()
    raise ConfigError(f"GAN-QP distance must be 'l1' or 'l2', got {norm!r}")


class GANQPLoss(AdversarialLoss):
    """GAN-QP (Su 2018, arXiv 1811.07296).

    Critic: -(r - f) + (r - f)^2 / (2 * weight * d(x_r, x_f)), with d per sample pair (real and
    fake paired by batch position). For a fixed pair the critic objective (r - f) - (r - f)^2 /
    (2 weight d) peaks at r - f = weight * d, so the quadratic term replaces a Lipschitz
    constraint. Generator: r - f, the plain score difference.
    """

    needs_real_scores = True

    def __init__(self, weight: float = 10.0, distance: str = "l1", eps: float = 1e-8):
        if weight <= 0:
            raise ConfigError(f"GAN-QP weight (lambda) must be positive, got {weight}")
        pairwise_distance(torch.zeros(1, 1), torch.zeros(1, 1), distance)  # validate early
        self.weight = weight
        self.distance = distance
        # Identical pairs would divide by zero; eps only matters for exact duplicates.
        self.eps = eps

    def critic_loss(self, d_real, d_fake, x_real, x_fake):
        if x_real.shape != x_fake.shape:
            raise ConfigError(
                f"GAN-QP pairs real and fake samples by position; got shapes {tuple(x_real.shape)}"
                f" and {tuple(x_fake.shape)}"
            )
        gap = d_real - d_fake
        dist = pairwise_distance(x_real, x_fake, self.distance).clamp_min(self.eps)
        return (-gap + gap.pow(2) / (2 * self.weight * dist)).mean()

    def generator_loss(self, d_real, d_fake):
        return (d_real - d_fake).mean()


class RelativisticLoss(AdversarialLoss):
    """Relativistic standard GAN, RSGAN (Jolicoeur-Martineau 2018): real and fake compared pair by pair.

    Critic: softplus(-(r - f)) = -log sigma(r - f), real and fake paired by batch position;
    generator: the same with the roles swapped, softplus(-(f - r)). Both read the real scores.
    """

    needs_real_scores = True

    def critic_loss(self, d_real, d_fake, x_real, x_fake):
        return F.softplus(-(d_real - d_fake)).mean()

    def generator_loss(self, d_real, d_fake):
        return F.softplus(-(d_fake - d_real)).mean()


class RelativisticAverageLoss(AdversarialLoss):
    """Relativistic average GANs (Jolicoeur-Martineau 2018): each score against the other side's batch mean.

    With a = r - mean(f) for real and b = f - mean(r) for fake samples, the critic minimises
    (E[g(a)] + E[h(b)]) / 2 and the generator the same with real and fake swapped,
    (E[h(a)] + E[g(b)]) / 2; `g` rewards a high score, `h` a low one. The halves follow the
    author's released code (the paper's equations omit them; they only rescale the step).
    """

    needs_real_scores = True

    def wants_high(self, t: Tensor) -> Tensor:
        raise NotImplementedError

    def wants_low(self, t: Tensor) -> Tensor:
        raise NotImplementedError

    def critic_loss(self, d_real, d_fake, x_real, x_fake):
        a, b = d_real - d_fake.mean(), d_fake - d_real.mean()
        return (self.wants_high(a).mean() + self.wants_low(b).mean()) / 2

    def generator_loss(self, d_real, d_fake):
        a, b = d_real - d_fake.mean(), d_fake - d_real.mean()
        return (self.wants_low(a).mean() + self.wants_high(b).mean()) / 2


class RelativisticAverageStandardLoss(RelativisticAverageLoss):
    """RaSGAN: g(t) = softplus(-t) = -log sigma(t), h(t) = softplus(t) = -log(1 - sigma(t))."""

    def wants_high(self, t):
        return F.softplus(-t)

    def wants_low(self, t):
        return F.softplus(t)


class RelativisticAverageLeastSquaresLoss(RelativisticAverageLoss):
    """RaLSGAN: g(t) = (t - 1)^2, h(t) = (t + 1)^2."""

    def wants_high(self, t):
        return (t - 1).pow(2)

    def wants_low(self, t):
        return (t + 1).pow(2)


class RelativisticAverageHingeLoss(RelativisticAverageLoss):
    """RaHinge: g(t) = relu(1 - t), h(t) = relu(1 + t)."""

    def wants_high(self, t):
        return F.relu(1 - t)

    def wants_low(self, t):
        return F.relu(1 + t)
