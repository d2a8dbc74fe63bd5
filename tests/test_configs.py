"""Every loss x constraint x model composes from the real configs and instantiates."""

import pytest
from hydra.errors import ConfigCompositionException
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import nn

from conftest import CONF, FAST, compose_config
from ganarena.errors import ConfigError
from ganarena.run.build import build_module

LOSSES = sorted(p.stem for p in (CONF / "loss").glob("*.yaml"))
CONSTRAINTS = sorted(p.stem for p in (CONF / "constraint").glob("*.yaml"))
EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))
MODEL_DATA = [("mlp", "ring8"), ("mlp", "grid25"), ("mlp", "digits"), ("dcgan", "digits")]


def test_the_groups_hold_the_options_the_readme_names():
    """Read from conf/: every option has a yaml, and the arena's core options are all there."""
    assert {"gan", "ns_gan", "wgan", "lsgan", "hinge", "gan_qp", "rsgan", "rasgan", "ralsgan", "rahinge"} <= set(LOSSES)
    assert {"none", "clip", "gp", "sn", "r1", "r2", "dragan"} <= set(CONSTRAINTS)
    assert {"dcgan", "gan", "gan_qp", "lsgan", "sngan", "wgan", "wgan_gp"} <= set(EXPERIMENTS)
    assert {"r1", "gan_qp_diffaugment"} <= set(EXPERIMENTS)
    assert {p.stem for p in (CONF / "augment").glob("*.yaml")} == {"none", "diffaugment", "ada"}


def _data_shape(data: str):
    return (2,) if data in ("ring8", "grid25") else (1, 32, 32)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("constraint", CONSTRAINTS)
@pytest.mark.parametrize(("model", "data"), MODEL_DATA)
def test_every_combination_instantiates(loss, constraint, model, data):
    cfg = compose_config([*FAST, f"loss={loss}", f"constraint={constraint}", f"model={model}", f"data={data}"])
    module = build_module(cfg, _data_shape(data))
    assert type(module.loss).__name__ == cfg.loss._target_.rsplit(".", 1)[1]
    assert len(module.constraints) == (0 if constraint == "none" else 1)
    has_batch_norm = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.critic.modules())
    # norm=auto: batch norm only for the DCGAN critic without gp / sn.
    assert has_batch_norm == (model == "dcgan" and constraint in ("none", "clip"))


def test_constraints_combine_from_the_command_line():
    cfg = compose_config([*FAST, "constraint=[gp,sn]", "loss=wgan"])
    assert list(cfg.constraint) == ["gp", "sn"]
    module = build_module(cfg, (1, 32, 32))
    assert [type(c).__name__ for c in module.constraints] == ["GradientPenalty", "SpectralNorm"]
    assert any("parametrizations" in name for name, _ in module.critic.named_modules())


def test_gradient_penalty_on_explicit_batch_norm_is_refused():
    cfg = compose_config([*FAST, "constraint=gp", "model.critic.norm=batch"])
    with pytest.raises(ValueError, match="batch norm"):
        build_module(cfg, (1, 32, 32))


@pytest.mark.parametrize("experiment", EXPERIMENTS)
@pytest.mark.parametrize("data", ["digits", "grid25"])
def test_experiment_presets_compose_and_build(experiment, data):
    cfg = compose_config([*FAST, f"experiment={experiment}", f"data={data}"])
    try:
        module = build_module(cfg, _data_shape(data))
    except ConfigError as error:
        # A preset that names an image network refuses toy points, and says what to use instead.
        assert data == "grid25" and "model=mlp" in str(error), error
        return
    assert module.n_critic == cfg.n_critic


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_a_presets_objective_can_be_swapped_without_its_keys(experiment):
    """`experiment=X loss=Y` keeps X's recipe and plays Y: no key of X's objective reaches Y's class.

    `gan` takes no keys (any key a preset sets breaks it), `gan_qp` its own two."""
    for loss in ("gan", "gan_qp"):
        cfg = compose_config([*FAST, f"experiment={experiment}", f"loss={loss}"])
        assert type(instantiate(cfg.loss)).__name__ == cfg.loss._target_.rsplit(".", 1)[1]


def test_presets_carry_the_papers_hyper_parameters():
    wgan = compose_config(["experiment=wgan"])
    assert wgan.n_critic == 5 and wgan.constraint.clip.clip == 0.01
    assert wgan.optim.critic._target_ == "torch.optim.RMSprop" and wgan.optim.critic.lr == 5e-5
    gp = compose_config(["experiment=wgan_gp"])
    assert gp.loss._target_.endswith("WassersteinLoss") and gp.constraint.gp.weight == 10.0
    assert gp.optim.critic.lr == 1e-4 and list(gp.optim.critic.betas) == [0.5, 0.9] and gp.n_critic == 5
    sngan = compose_config(["experiment=sngan"])
    assert sngan.loss._target_.endswith("HingeLoss") and list(sngan.constraint) == ["sn"]
    qp = compose_config(["experiment=gan_qp"])
    assert qp.loss.weight == 10.0 and qp.loss.distance == "l1" and qp.n_critic == 2 and qp.optim.generator.lr == 2e-4
    dcgan = compose_config(["experiment=dcgan"])
    assert dcgan.loss._target_.endswith("NonSaturatingLoss") and dcgan.batch_size == 128
    gan = compose_config(["experiment=gan"])
    assert gan.loss._target_ == "ganarena.game.losses.MinimaxLoss"
    # Only the loss differs from the DCGAN recipe.
    assert {k: v for k, v in gan.items() if k != "loss"} == {k: v for k, v in dcgan.items() if k != "loss"}
    mrgan = compose_config(["experiment=mrgan"])
    assert mrgan.loss._target_.endswith("NonSaturatingLoss") and mrgan.n_critic == 1
    mode = mrgan.regularizer.mode
    assert (mode.geometric_weight, mode.mode_weight, mode.mode_sign) == (0.2, 0.4, "aim")
    assert mode.encoder._target_.endswith("DCGANEncoder") and mode.encoder.latent_dim == mrgan.latent_dim
    mdgan = compose_config(["experiment=mdgan", "data=grid25"])
    assert (
        list(mdgan.regularizer) == ["manifold_diffusion"]
        and mdgan.regularizer.manifold_diffusion.geometric_weight == 0.2
    )
    assert mdgan.regularizer.manifold_diffusion.encoder._target_.endswith("MLPEncoder")
    assert mdgan.regularizer.manifold_diffusion.critic_optimizer.lr == mdgan.optim.critic.lr
    r1 = compose_config(["experiment=r1"])  # Mescheder et al. 2018: NS loss, R1 gamma 10, RMSprop 1e-4
    assert r1.loss._target_.endswith("NonSaturatingLoss") and list(r1.constraint) == ["r1"]
    assert r1.constraint.r1.gamma == 10.0 and r1.constraint.r1.every == 1 and r1.n_critic == 1
    assert r1.optim.critic._target_ == "torch.optim.RMSprop" and r1.optim.critic.lr == r1.optim.generator.lr == 1e-4
    critic = build_module(r1, (1, 32, 32)).critic  # their critics have no normalisation layers
    assert not any(isinstance(m, nn.BatchNorm2d | nn.LayerNorm | nn.GroupNorm) for m in critic.modules())
    augmented = compose_config(["experiment=gan_qp_diffaugment"])
    assert list(augmented.augment.policy) == ["color", "translation", "cutout"] and augmented.augment.p == 1.0
    # Only the augmentation differs from the GAN-QP preset.
    assert {k: v for k, v in augmented.items() if k != "augment"} == {k: v for k, v in qp.items() if k != "augment"}


def test_image_recipe_presets_carry_the_papers_hyper_parameters():
    cnn = compose_config(["experiment=sngan_cnn"])
    assert cnn.model.generator._target_.endswith("SNGANCNNGenerator") and cnn.loss._target_.endswith("HingeLoss")
    assert list(cnn.constraint) == ["sn"] and cnn.n_critic == 1 and list(cnn.optim.critic.betas) == [0.5, 0.999]
    assert cnn.optim.schedule._target_.endswith("ConstantRate") and cnn.optim.generator.lr == 2e-4
    ns = compose_config(["experiment=sngan_cnn_ns"])
    assert ns.loss._target_.endswith("NonSaturatingLoss")
    assert {k: v for k, v in ns.items() if k != "loss"} == {k: v for k, v in cnn.items() if k != "loss"}
    resnet = compose_config(["experiment=sngan_resnet"])
    assert resnet.model.critic._target_.endswith("ResNetCritic") and resnet.n_critic == 5
    assert list(resnet.optim.generator.betas) == [0.0, 0.9] and resnet.optim.critic.lr == 2e-4
    assert resnet.optim.schedule._target_.endswith("LinearDecay") and resnet.trainer.max_steps == 50_000
    gp = compose_config(["experiment=wgan_gp_resnet"])
    assert gp.loss._target_.endswith("WassersteinLoss") and gp.constraint.gp.weight == 10.0 and gp.n_critic == 5
    assert gp.model.generator.width == gp.model.critic.width == 128 and gp.model.critic.norm == "none"
    assert gp.optim.schedule.total_iterations == gp.trainer.max_steps == 100_000
    assert compose_config(["experiment=wgan_gp_resnet", "trainer.max_steps=10"]).optim.schedule.total_iterations == 10


def test_default_is_gan_qp_dcgan_on_digits():
    cfg = compose_config([])
    assert cfg.loss._target_.endswith("GANQPLoss")
    assert cfg.model.critic._target_.endswith("DCGANCritic")
    assert cfg.data._target_.endswith("DigitsDataModule")
    assert list(cfg.logger) == ["wandb"]
    assert cfg.ema.decay == 0.99 and cfg.ema.start_iteration == 0  # an average matched to 1,500 iterations


def test_toy_data_choose_the_mlp_unless_told_otherwise():
    assert compose_config(["data=ring8"]).model.critic._target_.endswith("MLPCritic")
    explicit = compose_config(["data=grid25", "model=dcgan"])
    assert explicit.model.critic._target_.endswith("DCGANCritic")
    with pytest.raises(ConfigError, match="model=mlp"):  # unwrapped from Hydra's InstantiationException
        build_module(explicit, (2,))


def test_unknown_choice_names_the_valid_ones():
    with pytest.raises(ConfigCompositionException, match="gan_qp"):
        compose_config(["loss=wgan_qp"])


@pytest.mark.parametrize(
    ("devices", "nodes", "strategy"),
    [
        (1, 1, "auto"),
        ("1", 1, "auto"),
        (2, 1, "gan_ddp"),
        ("0,1", 1, "gan_ddp"),
        ([0, 1, 2], 1, "gan_ddp"),
        (1, 2, "gan_ddp"),
    ],
)
def test_several_processes_select_the_gan_ddp_strategy(devices, nodes, strategy):
    devices_arg = f"[{','.join(map(str, devices))}]" if isinstance(devices, list) else f"'{devices}'"
    cfg = compose_config([f"trainer.devices={devices_arg}", f"trainer.num_nodes={nodes}"])
    assert OmegaConf.to_container(cfg.trainer, resolve=True)["strategy"] == strategy


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        (["trainer=cpu"], ("cpu", 1, 1, "auto")),
        (["trainer=cpu", "trainer.devices=2"], ("cpu", 2, 1, "gan_ddp")),
        (["trainer=gpu"], ("gpu", 1, 1, "auto")),
        (["trainer=ddp"], ("gpu", -1, 1, "gan_ddp")),
        (["trainer=slurm", "trainer.num_nodes=4"], ("gpu", 4, 4, "gan_ddp")),
    ],
)
def test_trainer_presets(preset, expected):
    trainer = compose_config(preset).trainer
    assert (trainer.accelerator, trainer.devices, trainer.num_nodes, trainer.strategy) == expected
    assert trainer.max_steps == 1500  # the presets change where a run goes, not how long it is
