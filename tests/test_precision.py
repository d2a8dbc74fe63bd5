"""Mixed precision and memory format: bf16-mixed with every constraint, gradient penalties under a
GradScaler (PyTorch's AMP recipe, proven on CPU with float16 autocast), the refusal of 16-mixed with
a penalty, and channels_last networks that compute what NCHW ones do."""

import copy
import importlib.util
import math

import lightning as L
import pytest
import torch
from lightning.pytorch.plugins import MixedPrecision
from torch import nn

from conftest import CONF, FAST, REPO, TINY_MLP, compose_config, fit
from ganarena.errors import ConfigError
from ganarena.game.constraints import GradientPenalty
from ganarena.game.penalties import DRAGANPenalty, R1Penalty, R2Penalty
from ganarena.models.dcgan import DCGANCritic
from ganarena.models.mlp import MLPCritic
from ganarena.run.build import build_module, build_run
from ganarena.run.config_checks import check_config
from ganarena.run.monitor import TrainingMonitor
from ganarena.run.precision import PenaltyLossScaling, penalties_of

CONSTRAINTS = sorted(p.stem for p in (CONF / "constraint").glob("*.yaml"))
PENALTIES = [GradientPenalty, R1Penalty, R2Penalty, DRAGANPenalty]
TINY_DCGAN = ["data=digits", "model.generator.width=8", "model.critic.width=8", "latent_dim=16"]
# bf16 keeps 8 significant bits: one rounding is off by at most 2^-8 relative. A penalty passes
# through a handful of roundings (forward and backward of each layer, then squared), so 16 units
# of 2^-8 (6.25%) bounds it with room; float32 would agree to ~1e-6, a dropped autocast exactly.
BF16_TOLERANCE = 16 * 2.0**-8
FP16_TOLERANCE = 16 * 2.0**-11  # float16: 11 significant bits


def moved(before: dict, module, prefix: str) -> bool:
    after = module.state_dict()
    return any(not torch.equal(before[k], after[k]) for k in before if k.startswith(prefix))


def with_lazy_r1(constraint: str) -> list[str]:
    together = "[r1]" if constraint == "r1" else f"[{constraint},r1]"
    return [f"constraint={together}", "constraint.r1.every=2"]


@pytest.mark.parametrize("lazy", [False, True], ids=["alone", "with_lazy_r1"])
@pytest.mark.parametrize("constraint", CONSTRAINTS)
def test_bf16_mixed_trains_every_constraint(constraint, lazy, tmp_path):
    chosen = with_lazy_r1(constraint) if lazy else [f"constraint={constraint}"]
    overrides = ["trainer.precision=bf16-mixed", "data=ring8", *TINY_MLP, *chosen]
    module, trainer, before = fit(overrides, tmp_path)
    assert trainer.precision == "bf16-mixed" and module.iteration == 3
    readings = trainer.callbacks[0].guard.latest  # the TrainingMonitor's checked losses
    assert all(math.isfinite(v.item()) for k, v in readings.items() if k.startswith("train/"))
    assert ("train/penalty" in readings) == (lazy or constraint in ("gp", "r1", "r2", "dragan"))
    assert moved(before, module, "generator.") and moved(before, module, "critic.")


def test_bf16_mixed_trains_the_relativistic_r1_dcgan_with_diffaugment(tmp_path):
    overrides = ["trainer.precision=bf16-mixed", "loss=rasgan", "constraint=[r1]", "augment=diffaugment", *TINY_DCGAN]
    module, trainer, before = fit(overrides, tmp_path, steps=2)
    readings = trainer.callbacks[0].guard.latest
    assert math.isfinite(readings["train/penalty"].item()) and math.isfinite(readings["train/critic_loss"].item())
    assert moved(before, module, "generator.") and moved(before, module, "critic.")


def test_under_mixed_precision_the_scores_and_losses_are_float32_and_a_32_true_critic_has_no_hook():
    mixed = compose_config([*FAST, "trainer.precision=bf16-mixed", "loss=ns_gan", "data=ring8", *TINY_MLP])
    module = build_module(mixed, (2,))
    real = torch.randn(16, 2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss, _ = module.critic_objective(real)
        assert module.critic(real).dtype == torch.float32 and loss.dtype == torch.float32
        assert module.generator_objective(real).dtype == torch.float32
    plain = build_module(compose_config([*FAST, "data=ring8", *TINY_MLP]), (2,))
    assert not plain.critic._forward_hooks  # fp32 runs keep the fast call path


def critics():
    torch.manual_seed(0)
    return [(MLPCritic((2,), hidden=32, depth=2), (2,)), (DCGANCritic((1, 32, 32), width=8, norm="none"), (1, 32, 32))]


@pytest.mark.parametrize("penalty_class", PENALTIES)
def test_penalties_under_bf16_autocast_are_float32_and_match_float32(penalty_class):
    for critic, shape in critics():
        x_real, x_fake = torch.randn(16, *shape), torch.randn(16, *shape)
        torch.manual_seed(1)
        reference = penalty_class().penalty(critic, x_real, x_fake)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            torch.manual_seed(1)  # the same interpolates and DRAGAN perturbations
            # Under autocast the generator's samples are bf16: R2 differentiates at them.
            penalty = penalty_class().penalty(critic, x_real, x_fake.bfloat16())
        assert penalty.dtype == torch.float32
        assert abs(penalty.item() - reference.item()) <= BF16_TOLERANCE * reference.item()
        assert penalty.item() != reference.item()  # the critic did run in bf16


def small_gradient_critic() -> nn.Module:
    """A critic whose input gradients (~1e-9) lie below float16's smallest subnormal number (6e-8)."""
    torch.manual_seed(0)
    critic = MLPCritic((2,), hidden=32, depth=2)
    with torch.no_grad():
        for layer in critic.modules():
            if isinstance(layer, nn.Linear):
                layer.weight.mul_(0.003)
    return critic


@pytest.mark.parametrize("penalty_class", [R1Penalty, R2Penalty])
def test_a_scaled_penalty_in_float16_is_the_float32_penalty_where_the_unscaled_one_underflows(penalty_class):
    critic, penalty = small_gradient_critic(), penalty_class()
    x_real, x_fake = torch.randn(16, 2), torch.randn(16, 2)
    reference = penalty.penalty(critic, x_real, x_fake)
    with torch.autocast("cpu", dtype=torch.float16):
        unscaled = penalty.penalty(critic, x_real, x_fake)
        penalty.loss_scaler = torch.amp.GradScaler("cpu", init_scale=2.0**14)
        scaled = penalty.penalty(critic, x_real, x_fake)
    assert reference.item() > 0 and unscaled.item() == 0.0  # what the recipe is for
    assert abs(scaled.item() - reference.item()) <= FP16_TOLERANCE * reference.item()


def test_an_overflowed_penalty_skips_the_step_and_lowers_the_scale():
    torch.manual_seed(0)
    critic = MLPCritic((2,), hidden=32, depth=2)
    optimizer = torch.optim.SGD(critic.parameters(), lr=0.1)
    # GradScaler's default initial scale, 2^16, is the upstream gradient of each score: above
    # float16's largest number (65504), so the first update overflows and the scaler backs off.
    penalty, scaler = R1Penalty(), torch.amp.GradScaler("cpu")
    penalty.loss_scaler = scaler
    x = torch.randn(16, 2)

    def update():
        before = [p.detach().clone() for p in critic.parameters()]
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.float16):
            value = penalty.penalty(critic, x, x)
            loss = critic(x).mean() + value
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        return value, any(not torch.equal(a, b) for a, b in zip(before, critic.parameters(), strict=True))

    value, stepped = update()
    assert value.item() == 0.0 and not stepped  # a finite penalty to log, a skipped step
    assert scaler.get_scale() == 2.0**15  # the scaler's backoff factor, 0.5
    value, stepped = update()
    assert value.item() > 0 and math.isfinite(value.item()) and stepped


def test_a_16_mixed_run_hands_its_scaler_to_every_penalty_and_survives_overflow(tmp_path):
    """Lightning's own MixedPrecision plugin with a CPU GradScaler, float16 autocast on the CPU."""
    cfg = compose_config([*FAST, "constraint=[r1,dragan]", "data=ring8", *TINY_MLP, "trainer.max_steps=4"], tmp_path)
    L.seed_everything(0)
    datamodule, _, _ = build_run(cfg)
    module = build_module(cfg, datamodule.shape)
    before = copy.deepcopy(module.state_dict())
    scaler = torch.amp.GradScaler("cpu")  # as the plugin makes it on a GPU: 2^16, which overflows at first
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=4,
        plugins=[MixedPrecision("16-mixed", "cpu", scaler=scaler)],
        callbacks=[TrainingMonitor(), PenaltyLossScaling()],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(module, datamodule=datamodule)
    assert all(c.loss_scaler is scaler for c in module.constraints)
    assert scaler.get_scale() < 2.0**16  # overflowed steps were skipped, the scale backed off
    readings = trainer.callbacks[0].guard.latest
    assert all(math.isfinite(v.item()) for k, v in readings.items() if k.startswith("train/"))
    assert moved(before, module, "critic.")


def test_every_run_wires_its_scaler_and_a_run_without_one_leaves_the_penalties_unscaled(tmp_path):
    module, trainer, _ = fit(["trainer.precision=bf16-mixed", "constraint=[gp]", "data=ring8", *TINY_MLP], tmp_path, 1)
    assert any(isinstance(callback, PenaltyLossScaling) for callback in trainer.callbacks)
    assert module.constraints[0].loss_scaler is None


def test_the_regularizers_own_critics_penalties_get_the_scaler_too():
    cfg = compose_config([*FAST, "experiment=mdgan", "constraint=[r1,sn]", "data=ring8", *TINY_MLP])
    module = build_module(cfg, (2,))
    penalties = penalties_of(module)
    assert len(penalties) == 2 and penalties[0] is module.constraints[0]  # the main critic's, then MDGAN's
    assert any(penalties[1] in getattr(reg, "constraints", []) for reg in module.regularizers)


@pytest.mark.parametrize("constraint", ["gp", "r1", "r2", "dragan", "[sn,r1]"])
def test_16_mixed_with_a_penalty_is_refused_before_any_work(constraint):
    cfg = compose_config([*FAST, f"constraint={constraint}", "trainer.precision=16-mixed"])
    with pytest.raises(ConfigError, match=r"trainer.precision=bf16-mixed .* or trainer.precision=32-true"):
        check_config(cfg)


@pytest.mark.parametrize(
    "overrides", [["constraint=sn"], ["constraint=clip"], ["constraint=gp", "trainer.precision=bf16-mixed"]]
)
def test_16_mixed_without_a_penalty_and_bf16_with_one_are_accepted(overrides):
    check_config(compose_config([*FAST, "trainer.precision=16-mixed", *overrides]))


@pytest.mark.parametrize("model", ["dcgan", "resnet"])
def test_channels_last_networks_compute_what_nchw_ones_do(model, tmp_path):
    overrides = [*FAST, f"model={model}", "data=digits", "latent_dim=16", "model.generator.width=8"]
    overrides += ["model.critic.width=8", "constraint=gp"]
    nchw_cfg, nhwc_cfg = (
        compose_config(overrides, tmp_path),
        compose_config([*overrides, "channels_last=true"], tmp_path),
    )
    torch.manual_seed(0)
    nchw = build_module(nchw_cfg, (1, 32, 32))
    torch.manual_seed(0)
    nhwc = build_module(nhwc_cfg, (1, 32, 32))
    four_d = [p for p in nhwc.parameters() if p.dim() == 4]
    assert four_d and all(p.is_contiguous(memory_format=torch.channels_last) for p in four_d)
    assert not all(p.is_contiguous(memory_format=torch.channels_last) for p in nchw.parameters() if p.dim() == 4)
    z, x = torch.randn(4, 16), torch.rand(4, 1, 32, 32) * 2 - 1
    assert torch.allclose(nchw.generator(z), nhwc.generator(z), atol=1e-5)
    assert torch.allclose(nchw.critic(x), nhwc.critic(x), atol=1e-5, rtol=1e-4)
    torch.manual_seed(1)
    expected = nchw.constraints[0].penalty(nchw.critic, x, nchw.generator(z))
    torch.manual_seed(1)
    got = nhwc.constraints[0].penalty(nhwc.critic, x, nhwc.generator(z))
    assert abs(got.item() - expected.item()) <= 1e-4 * max(1.0, expected.item())


def test_channels_last_trains_a_dcgan_with_spectral_norm_and_a_penalty(tmp_path):
    module, _, before = fit(["channels_last=true", "constraint=[sn,r1]", *TINY_DCGAN], tmp_path, steps=2)
    assert moved(before, module, "generator.") and moved(before, module, "critic.")
    assert all(p.is_contiguous(memory_format=torch.channels_last) for p in module.parameters() if p.dim() == 4)


def test_the_precision_benchmark_reports_every_variant(tmp_path):
    spec = importlib.util.spec_from_file_location("benchmark_precision", REPO / "scripts" / "benchmark_precision.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    preset = "experiment=dcgan model.generator.width=8 model.critic.width=8 latent_dim=16 batch_size=8"
    args = ["--rounds", "1", "--iterations", "1", "--warmup", "1", "--preset", preset, "--json", str(tmp_path / "b")]
    results = benchmark.main(args)
    assert set(results["variants"]) == {"fp32", "bf16-mixed", "channels_last", "bf16-mixed + channels_last"}
    assert all(v["it_per_s"] > 0 and math.isfinite(v["it_per_s"]) for v in results["variants"].values())
    assert results["variants"]["fp32"]["speedup_over_fp32_per_round"] == [1.0]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
@pytest.mark.parametrize("penalty_class", PENALTIES)
def test_fp16_penalties_with_the_cuda_grad_scaler_match_float32(penalty_class):
    """The GPU proof that config_checks.check_precision waits for before it accepts 16-mixed with a penalty."""
    torch.manual_seed(0)
    critic = DCGANCritic((3, 32, 32), width=32, norm="none").cuda()
    x_real, x_fake = torch.randn(64, 3, 32, 32, device="cuda"), torch.randn(64, 3, 32, 32, device="cuda")
    torch.manual_seed(1)
    reference = penalty_class().penalty(critic, x_real, x_fake)
    penalty = penalty_class()
    penalty.loss_scaler = torch.amp.GradScaler("cuda")  # init_scale 2^16, as Lightning's plugin makes it
    with torch.autocast("cuda", dtype=torch.float16):
        torch.manual_seed(1)
        scaled = penalty.penalty(critic, x_real, x_fake.half())
    assert scaled.dtype == torch.float32
    assert abs(scaled.item() - reference.item()) <= FP16_TOLERANCE * reference.item()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_a_16_mixed_r1_dcgan_trains_on_cuda(tmp_path):
    """build_run skips check_config: this is the run the refusal stands in for."""
    overrides = [
        "trainer.accelerator=gpu",
        "trainer.precision=16-mixed",
        "constraint=[r1]",
        "metrics=none",
        *TINY_DCGAN,
    ]
    module, trainer, before = fit(overrides, tmp_path, steps=20)
    assert module.constraints[0].loss_scaler is trainer.precision_plugin.scaler is not None
    readings = trainer.callbacks[0].guard.latest
    assert all(math.isfinite(v.item()) for k, v in readings.items() if k.startswith("train/"))
    assert moved(before, module, "generator.") and moved(before, module, "critic.")
