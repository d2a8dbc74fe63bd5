"""Generator-side plug-ins: terms added to the generator loss, which may own networks and optimisers.

The mirror of the critic constraints (constraints.py). A regularizer acts at these moments, each
optional (docs/architecture.md), with `game` the GANModule that calls it:

    reg.make_optimizers()              # once, from configure_optimizers: its networks' optimisers
    reg.critic_real(real, game)        # what the main critic takes as real (default: the data)
    reg.update(real, game)             # its own networks' updates, before the generator's
    reg.generator_term(real, game)     # a scalar added to the generator loss; may reach its networks
    reg.after_generator_step(game)     # steps the optimisers of the networks that term reached

Its trainable networks live in `train_networks` (a plain dict, as in GANModule, which the gan_ddp
strategy fills with DDP wrappers); being submodules, they are in every checkpoint. What a
regularizer wants logged goes to `logs` (detached; the step logs it as train/<name>).
Regularizers compose (`regularizer=[mode]`) and take their networks' shapes from `data_shape`.

    ModeRegularizer      MRGAN (Che et al. 2017, sections 3.1 and 3.2): encoder E, G(E(x))
    ManifoldDiffusion    MDGAN (section 3.3): E and a manifold critic D_m between x and G(E(x))
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from ganarena.errors import ConfigError

NetworkFactory = Callable[..., nn.Module]
OptimizerFactory = Callable[..., torch.optim.Optimizer]
MODE_SIGNS = {"aim": 1.0, "printed": -1.0}
DISTANCES = ("pixel", "critic_features")


class GeneratorRegularizer(nn.Module):
    """No-op base: subclasses override the moments they act at."""

    def __init__(self, data_shape: tuple[int, ...], make_critic: Callable | None = None):
        super().__init__()
        self.data_shape = tuple(data_shape)
        self.make_critic = make_critic  # () -> (critic, applied constraints), as the main critic is built
        self.train_networks: dict[str, nn.Module] = {}
        self.logs: dict[str, Tensor] = {}

    def networks(self) -> dict[str, nn.Module]:
        """The plain networks behind `train_networks` (what a strategy's teardown puts back)."""
        return {name: getattr(self, name) for name in self.train_networks}

    def make_optimizers(self) -> list[torch.optim.Optimizer]:
        return []

    def critic_real(self, real: Tensor, game) -> Tensor:
        return real

    def update(self, real: Tensor, game) -> None:
        pass

    def generator_term(self, real: Tensor, game) -> Tensor | None:
        return None

    def after_generator_step(self, game) -> None:
        pass

    def reconstructions(self, real: Tensor, generator: nn.Module) -> Tensor | None:
        """G(E(real)) for the sample pictures, or None for a regularizer without an encoder."""
        return None


def squared_distance(x: Tensor, y: Tensor) -> Tensor:
    """Per-sample squared L2 distance summed over every non-batch dimension, shape (N,)."""
    return (x - y).flatten(1).pow(2).sum(dim=1)


def critic_features(critic: nn.Module, x: Tensor) -> Tensor:
    """The critic's features before its last layer (the architectures end `net` with the score layer)."""
    body = getattr(critic, "net", None)
    if not isinstance(body, nn.Sequential):
        raise ConfigError(
            f"distance=critic_features needs a critic whose `net` is an nn.Sequential ending in the score"
            f" layer; {type(critic).__name__} has none. Use distance=pixel."
        )
    return body[:-1](x)


class ModeRegularizer(GeneratorRegularizer):
    """MRGAN: lambda1 * d(x, G(E(x))) + lambda2 * mode term on D(G(E(x))), both batch means.

    d is the per-sample squared L2 distance in pixel space (`distance="pixel"`) or in the main
    critic's feature space (`"critic_features"`). The mode term is the loss's own generator term
    on the reconstruction's score, `loss.generator_loss(D(x), D(G(E(x))))` (for the
    non-saturating loss -log D(G(E(x)))), so minimising it makes the critic take reconstructions
    as real: the paper's stated aim (`mode_sign="aim"`). `mode_sign="printed"` negates it, the
    "+ lambda2 log D(G(E(x)))" of the paper's printed objective; docs/objectives.md explains.
    D is the critic as the game scores with it (`game.score`: through the critic-input
    augmentation, like every other critic score), while the critic-feature distance compares the
    un-augmented x and G(E(x)), as the losses and penalties do.
    The encoder minimises the two terms, the generator its adversarial loss plus both: one
    backward of the generator's total gives each its gradient.
    """

    def __init__(
        self,
        data_shape: tuple[int, ...],
        encoder: NetworkFactory,
        encoder_optimizer: OptimizerFactory,
        geometric_weight: float = 0.2,
        mode_weight: float = 0.4,
        distance: str = "pixel",
        mode_sign: str = "aim",
        make_critic: Callable | None = None,
    ):
        super().__init__(data_shape, make_critic)
        if geometric_weight < 0 or mode_weight < 0:
            raise ConfigError(
                f"MRGAN weights must be non-negative, got geometric_weight={geometric_weight},"
                f" mode_weight={mode_weight}; set mode_sign=printed for the printed sign instead"
            )
        if distance not in DISTANCES:
            raise ConfigError(f"MRGAN distance must be one of {DISTANCES}, got {distance!r}")
        if mode_sign not in MODE_SIGNS:
            raise ConfigError(f"mode_sign must be one of {tuple(MODE_SIGNS)}, got {mode_sign!r}")
        self.encoder = encoder(data_shape=self.data_shape)
        self.encoder_optimizer = encoder_optimizer
        self.geometric_weight, self.mode_weight = geometric_weight, mode_weight
        self.distance, self.sign = distance, MODE_SIGNS[mode_sign]
        self.train_networks = {"encoder": self.encoder}

    def make_optimizers(self):
        self.optimizer = self.encoder_optimizer(self.encoder.parameters())
        return [self.optimizer]

    @torch.no_grad()
    def reconstructions(self, real, generator):
        return generator(self.encoder(real))

    def reconstruct(self, real: Tensor, game) -> Tensor:
        """G(E(x)) through the networks the step trains (DDP wrappers under gan_ddp)."""
        return game.train_networks["generator"](self.train_networks["encoder"](real))

    def geometric(self, real: Tensor, recon: Tensor, critic: nn.Module) -> Tensor:
        if self.distance == "critic_features":
            real, recon = critic_features(critic, real), critic_features(critic, recon)
        return squared_distance(real, recon).mean()

    def mode(self, real: Tensor, recon: Tensor, critic: Callable[[Tensor], Tensor], loss) -> Tensor:
        d_real = None
        if loss.needs_real_scores:
            with torch.no_grad():
                d_real = critic(real)
        return self.sign * loss.generator_loss(d_real, critic(recon))

    def generator_term(self, real, game):
        # Called with the main critic frozen (GANModule.generator_objective): only G and E learn here.
        self.optimizer.zero_grad(set_to_none=True)
        recon = self.reconstruct(real, game)
        geometric = self.geometric(real, recon, game.critic)
        mode = self.mode(real, recon, lambda x: game.score(game.critic, x), game.loss)
        self.logs.update(geometric=geometric.detach(), mode=mode.detach())
        return self.geometric_weight * geometric + self.mode_weight * mode

    def after_generator_step(self, game):
        game.step_optimizer(self.optimizer)


class ManifoldDiffusion(ModeRegularizer):
    """MDGAN: a manifold step on (x, G(E(x))) and a diffusion step on (G(E(x)), G(z)).

    Manifold step: the manifold critic D_m (the model's critic architecture, with the run's
    constraints and loss) learns x as real and G(E(x)) as fake; G and E minimise
    lambda1 * d(x, G(E(x))) + manifold_weight * (the loss's generator term on D_m(G(E(x)))).
    Diffusion step: the run's main critic takes G(E(x)) as real (`critic_real`) and G(z) as fake,
    and the generator's adversarial loss on it moves G(z) toward the reconstructions.
    """

    def __init__(
        self,
        data_shape: tuple[int, ...],
        encoder: NetworkFactory,
        encoder_optimizer: OptimizerFactory,
        critic_optimizer: OptimizerFactory,
        geometric_weight: float = 0.2,
        manifold_weight: float = 1.0,
        make_critic: Callable | None = None,
    ):
        super().__init__(data_shape, encoder, encoder_optimizer, geometric_weight, manifold_weight, "pixel", "aim")
        if make_critic is None:
            raise ConfigError("MDGAN builds a manifold critic like the main one; build it through run.build")
        self.manifold_critic, self.constraints = make_critic()
        self.critic_optimizer = critic_optimizer
        self.train_networks = {"encoder": self.encoder, "manifold_critic": self.manifold_critic}

    def make_optimizers(self):
        self.manifold_optimizer = self.critic_optimizer(self.manifold_critic.parameters())
        return [*super().make_optimizers(), self.manifold_optimizer]

    @torch.no_grad()
    def critic_real(self, real, game):
        return game.generator(self.encoder(real))

    def update(self, real, game):
        critic = self.train_networks["manifold_critic"]
        recon = self.critic_real(real, game)
        d_real, d_recon = critic(real), critic(recon)
        loss = game.loss.critic_loss(d_real, d_recon, real, recon)
        penalties = [p for c in self.constraints if (p := c.penalty(critic, real, recon)) is not None]
        total = loss + sum(penalties) if penalties else loss
        self.manifold_optimizer.zero_grad(set_to_none=True)
        game.manual_backward(total)
        game.step_optimizer(self.manifold_optimizer)
        for constraint in self.constraints:
            constraint.after_critic_step(self.manifold_critic)
        self.logs["manifold_critic_loss"] = loss.detach()

    def generator_term(self, real, game):
        self.optimizer.zero_grad(set_to_none=True)
        recon = self.reconstruct(real, game)
        # D_m is only a function here, like the main critic in the generator's update.
        self.manifold_critic.requires_grad_(False)
        try:
            manifold = self.mode(real, recon, self.manifold_critic, game.loss)
        finally:
            self.manifold_critic.requires_grad_(True)
        geometric = squared_distance(real, recon).mean()
        self.logs.update(geometric=geometric.detach(), manifold=manifold.detach())
        return self.geometric_weight * geometric + self.mode_weight * manifold


def critic_real(regularizers, real: Tensor, game) -> Tensor:
    """What the main critic takes as real once every regularizer has had its say (the data by default)."""
    for regularizer in regularizers:
        real = regularizer.critic_real(real, game)
    return real
