"""Generator-side regularizers: MRGAN's and MDGAN's terms against closed forms on linear networks,
the direction of the mode term for every configured loss, the encoders' shapes, and short real
runs of experiment=mrgan and experiment=mdgan through the real config (toy points and digits)."""

import math
from types import SimpleNamespace

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import nn

from conftest import CONF, TINY_MLP, fit
from ganarena.errors import ConfigError
from ganarena.game.losses import NonSaturatingLoss
from ganarena.game.regularizers import ManifoldDiffusion, ModeRegularizer
from ganarena.models.encoders import DCGANEncoder, MLPEncoder
from ganarena.models.mlp import MLPCritic, MLPGenerator

X = torch.tensor([[1.0, 2.0], [3.0, 0.0]])  # |x|^2 = 5 and 9
LOSS_OPTIONS = {path.stem: OmegaConf.load(path) for path in sorted((CONF / "loss").glob("*.yaml"))}
TINY_DCGAN = ["model.generator.width=8", "model.critic.width=8", "model.encoder.width=8", "latent_dim=16"]


def scaled(factor: float, features: int = 2) -> nn.Linear:
    layer = nn.Linear(features, features, bias=False)
    with torch.no_grad():
        layer.weight.copy_(factor * torch.eye(features))
    return layer


class SumCritic(nn.Module):
    """D(y) = sum of 2 * y: features 2y before a summing score layer."""

    def __init__(self):
        super().__init__()
        score = nn.Linear(2, 1, bias=False)
        nn.init.ones_(score.weight)
        self.net = nn.Sequential(scaled(2.0), score)

    def forward(self, y):
        return self.net(y).squeeze(1)


def linear_game(loss=None):
    """E(x) = x / 2, G(z) = 3 z, so G(E(x)) = 1.5 x and x - G(E(x)) = -x / 2."""
    game = SimpleNamespace(generator=scaled(3.0), critic=SumCritic(), loss=loss or NonSaturatingLoss())
    game.train_networks = {"generator": game.generator}
    game.score = lambda critic, x: critic(x)  # no critic-input augmentation
    return game


def mrgan(**kwargs) -> ModeRegularizer:
    regularizer = ModeRegularizer((2,), lambda data_shape: scaled(0.5), torch.optim.SGD, **kwargs)
    regularizer.make_optimizers()
    return regularizer


def softplus(t: float) -> float:
    return math.log1p(math.exp(t))


# D(G(E(x))) = 2 * 1.5 * (x1 + x2) = 9 for both samples; d = |x / 2|^2 = 1.25 and 2.25, mean 1.75.
@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, 0.2 * 1.75 + 0.4 * softplus(-9.0)),
        ({"mode_sign": "printed"}, 0.2 * 1.75 - 0.4 * softplus(-9.0)),
        ({"geometric_weight": 1.0, "mode_weight": 0.0}, 1.75),
        # In the critic's features 2y the distance is 4 times the pixel one.
        ({"geometric_weight": 1.0, "mode_weight": 0.0, "distance": "critic_features"}, 7.0),
    ],
)
def test_mrgan_term_matches_its_closed_form(settings, expected):
    regularizer = mrgan(**settings)
    term = regularizer.generator_term(X, linear_game())
    assert term.item() == pytest.approx(expected, rel=1e-6, abs=1e-7)
    assert regularizer.logs["geometric"].item() == pytest.approx(7.0 if "distance" in settings else 1.75, rel=1e-6)


def test_mrgan_mode_term_scores_through_the_critic_input_augmentation():
    """With a stand-in augmentation x -> -x the critic scores -G(E(x)): D = -9, so the mode term is
    softplus(9); the critic-feature distance still compares the un-augmented images (7.0)."""
    game = linear_game()
    game.score = lambda critic, x: critic(-x)
    regularizer = mrgan(distance="critic_features")
    term = regularizer.generator_term(X, game)
    assert term.item() == pytest.approx(0.2 * 7.0 + 0.4 * softplus(9.0), rel=1e-6)
    assert regularizer.logs["mode"].item() == pytest.approx(softplus(9.0), rel=1e-6)


def test_mrgan_term_gives_the_encoder_and_generator_their_gradients():
    regularizer, game = mrgan(mode_weight=0.0, geometric_weight=1.0), linear_game()
    regularizer.generator_term(X, game).backward()
    # d = mean_i |x_i - G E x_i|^2 with G = 3 I, E = I / 2, so x - G E x = -x / 2 and
    # dd/dG = mean -2 (x - G E x)(E x)^T = 0.5 mean x x^T, dd/dE = mean -2 G^T (x - G E x) x^T = 3 mean x x^T.
    outer = torch.einsum("ni,nj->ij", X, X) / len(X)
    expected_g, expected_e = 0.5 * outer, 3.0 * outer
    assert torch.allclose(game.generator.weight.grad, expected_g)
    assert torch.allclose(regularizer.encoder.weight.grad, expected_e)


@pytest.mark.parametrize("loss", sorted(LOSS_OPTIONS))
@pytest.mark.parametrize(("sign", "direction"), [("aim", 1.0), ("printed", -1.0)])
def test_a_generator_step_on_the_mode_term_moves_the_reconstructions_score(loss, sign, direction):
    """ "aim" raises D(G(E(x))), as the paper's argument wants; the printed sign lowers it."""
    torch.manual_seed(0)
    generator = MLPGenerator(latent_dim=3, data_shape=(2,), hidden=16, depth=2)
    game = SimpleNamespace(
        generator=generator, critic=MLPCritic((2,), hidden=16, depth=2), loss=instantiate(LOSS_OPTIONS[loss])
    )
    game.train_networks = {"generator": generator}
    game.score = lambda critic, x: critic(x)
    regularizer = ModeRegularizer(
        (2,),
        lambda data_shape: MLPEncoder(3, data_shape, hidden=16, depth=2),
        torch.optim.SGD,
        geometric_weight=0.0,
        mode_weight=1.0,
        mode_sign=sign,
    )
    regularizer.make_optimizers()
    real = torch.randn(64, 2)
    before = game.critic(regularizer.reconstructions(real, generator)).mean()
    regularizer.generator_term(real, game).backward()
    with torch.no_grad():
        for p in generator.parameters():
            p -= 0.05 * p.grad
    after = game.critic(regularizer.reconstructions(real, generator)).mean()
    assert direction * (after - before).item() > 1e-4


def test_mdgan_manifold_term_closed_form_and_diffusion_real_side():
    manifold_critic = SumCritic()
    regularizer = ManifoldDiffusion(
        (2,),
        lambda data_shape: scaled(0.5),
        torch.optim.SGD,
        torch.optim.SGD,
        geometric_weight=0.2,
        manifold_weight=1.0,
        make_critic=lambda: (manifold_critic, []),
    )
    regularizer.make_optimizers()
    game = linear_game()
    assert torch.allclose(regularizer.critic_real(X, game), 1.5 * X)
    term = regularizer.generator_term(X, game)
    assert term.item() == pytest.approx(0.2 * 1.75 + softplus(-9.0), rel=1e-6)
    assert manifold_critic.net[0].weight.grad is None  # D_m is a function in the generator's term


def test_mdgan_update_teaches_the_manifold_critic_x_from_its_reconstruction():
    torch.manual_seed(0)
    critic = MLPCritic((2,), hidden=16, depth=2)
    regularizer = ManifoldDiffusion(
        (2,),
        lambda data_shape: scaled(0.5),
        torch.optim.SGD,
        lambda params: torch.optim.SGD(params, lr=0.1),
        make_critic=lambda: (critic, []),
    )
    regularizer.make_optimizers()
    game = linear_game()
    game.manual_backward = lambda loss: loss.backward()
    game.step_optimizer = lambda optimizer: optimizer.step()
    real = torch.randn(64, 2) * 2
    gap = lambda: (critic(real) - critic(1.5 * real)).mean().item()  # noqa: E731
    before = gap()
    regularizer.update(real, game)
    assert gap() > before
    assert "manifold_critic_loss" in regularizer.logs


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"geometric_weight": -1.0}, "non-negative"),
        ({"mode_weight": -0.1}, "mode_sign=printed"),
        ({"distance": "l1"}, "pixel"),
        ({"mode_sign": "minus"}, "aim"),
    ],
)
def test_bad_settings_are_refused_with_a_way_out(settings, message):
    with pytest.raises(ConfigError, match=message):
        mrgan(**settings)


def test_critic_features_need_a_sequential_critic():
    game = linear_game()
    game.critic = lambda y: y.sum(1)
    with pytest.raises(ConfigError, match="distance=pixel"):
        mrgan(distance="critic_features").generator_term(X, game)


@pytest.mark.parametrize("shape", [(2,), (1, 32, 32), (3, 32, 32)])
def test_mlp_encoder_shapes(shape):
    assert MLPEncoder(7, shape, hidden=8, depth=2)(torch.randn(5, *shape)).shape == (5, 7)


@pytest.mark.parametrize("shape", [(1, 32, 32), (3, 32, 32), (3, 64, 64)])
@pytest.mark.parametrize("norm", ["batch", "layer", "none"])
def test_dcgan_encoder_shapes(shape, norm):
    assert DCGANEncoder(9, shape, width=4, norm=norm)(torch.randn(3, *shape)).shape == (3, 9)


def test_dcgan_encoder_refuses_points():
    with pytest.raises(ConfigError, match="model=mlp"):
        DCGANEncoder(4, (2,))


@pytest.mark.parametrize("experiment", ["mrgan", "mdgan"])
@pytest.mark.parametrize("data", ["grid25", "digits"])
def test_presets_train_every_network_and_draw_reconstructions(experiment, data, tmp_path):
    model = TINY_MLP if data == "grid25" else TINY_DCGAN
    module, trainer, before = fit(
        ["metrics=none", f"experiment={experiment}", f"data={data}", *model, "batch_size=16"], tmp_path
    )
    after = module.state_dict()
    prefixes = ["generator.", "critic.", "regularizers.0.encoder."]
    prefixes += ["regularizers.0.manifold_critic."] if experiment == "mdgan" else []
    for prefix in prefixes:
        keys = [k for k in before if k.startswith(prefix) and before[k].is_floating_point()]
        assert keys and any(not torch.equal(before[k], after[k]) for k in keys), prefix
    assert len(trainer.optimizers) == (4 if experiment == "mdgan" else 3)
    with open(tmp_path / "csv" / "metrics.csv") as f:
        header = f.readline().strip().split(",")
    assert "train/geometric" in header and ("train/manifold_critic_loss" in header) == (experiment == "mdgan")
    assert ("train/mode" in header) == (experiment == "mrgan")
    assert (tmp_path / "samples" / "recon_iter_000003.png").exists()


@pytest.mark.parametrize("loss", sorted(LOSS_OPTIONS))
@pytest.mark.parametrize("experiment", ["mrgan", "mdgan"])
def test_every_loss_trains_with_each_regularizer(loss, experiment, tmp_path):
    module, _, _ = fit(
        ["metrics=none", f"experiment={experiment}", f"loss={loss}", "data=ring8", *TINY_MLP], tmp_path, steps=2
    )
    assert module.iteration == 2
    assert all(torch.isfinite(p).all() for p in module.parameters())


def test_runs_without_regularizer_draw_no_reconstructions(tmp_path):
    module, trainer, _ = fit(["metrics=none", "data=ring8", *TINY_MLP], tmp_path, steps=2)
    assert len(module.regularizers) == 0 and len(trainer.optimizers) == 2
    assert not list((tmp_path / "samples").glob("recon_*"))


@pytest.mark.parametrize("experiment", ["mrgan", "mdgan"])
def test_stacked_digits_trains_with_the_encoder(experiment, tmp_path):
    overrides = ["metrics=none", f"experiment={experiment}", "data=stacked_digits", *TINY_DCGAN, "batch_size=8"]
    module, _, _ = fit(overrides, tmp_path, steps=2)
    assert module.iteration == 2


class RecordedWandbRun:
    """What `wandb.init` returns to the WandbLogger: records what is logged instead of sending it."""

    def __init__(self, **init):
        self.logged, self.id, self.name = [], "recorded", init.get("name")
        self.config = self

    def update(self, values, **kwargs):
        pass

    def log(self, values, **kwargs):
        self.logged.append(dict(values))

    def finish(self, exit_code=None, **kwargs):
        pass


def test_wandb_receives_the_reconstructions_beside_the_samples(tmp_path, monkeypatch):
    import wandb

    runs = []
    monkeypatch.setattr(wandb, "init", lambda **init: runs.append(RecordedWandbRun(**init)) or runs[-1])
    fit(["metrics=none", "experiment=mrgan", "data=ring8", *TINY_MLP, "logger=wandb"], tmp_path, steps=2)
    (run,) = runs
    pictures = [row for row in run.logged if "samples" in row or "reconstructions" in row]
    assert [sorted(set(row) - {"trainer/global_step"}) for row in pictures] == [["samples"], ["reconstructions"]]
    assert isinstance(pictures[1]["reconstructions"][0], wandb.Image) and pictures[1]["trainer/global_step"] == 2
