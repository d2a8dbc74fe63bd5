"""Precision/recall, density/coverage and FID-infinity against closed forms and independent code."""

import contextlib
import io
import re

import numpy as np
import pytest
import scipy.linalg
import torch

from ganarena.metrics.frechet import PrecomputedFeatures
from ganarena.metrics.frechet_infinity import frechet_distance, frechet_infinity, gaussian_statistics
from ganarena.metrics.manifold import density_coverage, kth_neighbour_radii, precision_recall


def gaussian(n: int, dim: int, seed: int, mean: float = 0.0, std: float = 1.0) -> torch.Tensor:
    return mean + std * torch.randn(n, dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize(("shift", "spread"), [(0.0, 1.0), (0.7, 1.0), (0.0, 0.4), (1.5, 2.0)])
def test_agrees_with_the_reference_prdc_package(shift, spread):
    import prdc  # the reference code of Naeem et al. (a dev dependency)

    real, fake = gaussian(300, 16, 1), gaussian(250, 16, 2, shift, spread)
    ours = {**precision_recall(real, fake, k=3), **density_coverage(real, fake, k=5)}
    with contextlib.redirect_stdout(io.StringIO()):  # it prints the sample counts
        at3 = prdc.compute_prdc(real.float().numpy(), fake.float().numpy(), nearest_k=3)
        at5 = prdc.compute_prdc(real.float().numpy(), fake.float().numpy(), nearest_k=5)
    reference = {"precision": at3["precision"], "recall": at3["recall"], **{k: at5[k] for k in ("density", "coverage")}}
    assert ours == pytest.approx(reference, abs=1e-9)


def test_identical_sets_are_fully_precise_and_covered_and_far_sets_not_at_all():
    real = gaussian(200, 8, 3)
    same = precision_recall(real, real.clone()) | density_coverage(real, real.clone())
    assert same["precision"] == same["recall"] == same["coverage"] == 1.0
    far = precision_recall(real, real + 100) | density_coverage(real, real + 100)
    assert far == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_dropping_modes_lowers_recall_and_coverage_but_not_precision():
    """Two well-separated clusters of reals; fakes from one of them only."""
    real = torch.cat([gaussian(300, 4, 4), gaussian(300, 4, 5, mean=50.0)])
    fake = gaussian(300, 4, 6)
    values = precision_recall(real, fake) | density_coverage(real, fake)
    assert values["precision"] > 0.9
    assert 0.4 < values["recall"] < 0.55 and 0.4 < values["coverage"] < 0.55


def test_radii_are_the_kth_neighbour_distances_without_the_point_itself():
    points = torch.tensor([[0.0], [1.0], [3.0], [7.0]], dtype=torch.float64)
    assert kth_neighbour_radii(points, 1).tolist() == [1.0, 1.0, 2.0, 4.0]
    assert kth_neighbour_radii(points, 2).tolist() == [3.0, 2.0, 3.0, 6.0]
    with pytest.raises(ValueError, match="k must be"):
        kth_neighbour_radii(points, 4)


def test_frechet_distance_matches_scipy_and_torchmetrics():
    from torchmetrics.image.fid import FrechetInceptionDistance

    real, fake = gaussian(400, 6, 7), gaussian(300, 6, 8, mean=0.3, std=1.4)
    (mu1, s1), (mu2, s2) = gaussian_statistics(real), gaussian_statistics(fake)
    covmean = scipy.linalg.sqrtm(s1.numpy() @ s2.numpy()).real
    direct = float(np.sum((mu1 - mu2).numpy() ** 2) + np.trace(s1.numpy() + s2.numpy() - 2 * covmean))
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(direct, rel=1e-9)
    metric = FrechetInceptionDistance(feature=PrecomputedFeatures(6)).double()
    metric.update(real, real=True)
    metric.update(fake, real=False)
    assert metric.compute().item() == pytest.approx(direct, rel=1e-6)


@pytest.mark.parametrize(("n_real", "n_fake"), [(400, 300), (48, 40)], ids=["full-rank", "rank-deficient"])
def test_frechet_distance_matches_clean_fid_and_torch_fidelity(n_real, n_fake):
    """Their Frechet functions on our statistics of the same features; 64 dimensions, so the second
    case has singular covariances (fewer samples than dimensions), as small CPU budgets have in 2048."""
    from cleanfid.fid import frechet_distance as clean_fid_frechet
    from torch_fidelity.metric_fid import fid_statistics_to_metric

    real, fake = gaussian(n_real, 64, 11), gaussian(n_fake, 64, 12, mean=0.2, std=1.3)
    (mu1, s1), (mu2, s2) = gaussian_statistics(real), gaussian_statistics(fake)
    ours = frechet_distance(mu1, s1, mu2, s2)
    clean = clean_fid_frechet(mu1.numpy(), s1.numpy(), mu2.numpy(), s2.numpy())
    fidelity = fid_statistics_to_metric(
        {"mu": mu1.numpy(), "sigma": s1.numpy()}, {"mu": mu2.numpy(), "sigma": s2.numpy()}, verbose=False
    )["frechet_inception_distance"]
    assert ours == pytest.approx(clean, rel=1e-6)
    assert ours == pytest.approx(fidelity, rel=1e-6)


def test_fid_infinity_recovers_the_closed_form_distance_of_two_gaussians():
    """N(0, I) against N(m, I) in d dimensions: FID = d m^2 exactly; at a few hundred samples the
    estimate is biased upward by far more than that, the extrapolation is not."""
    dim, mean = 32, 0.2
    exact = dim * mean**2
    real = gaussian(200_000, dim, 9)  # the real statistics as good as exact
    fake = gaussian(3000, dim, 10, mean)
    mu_real, sigma_real = gaussian_statistics(real)
    at_300 = frechet_distance(mu_real, sigma_real, *gaussian_statistics(fake[:300]))
    at_3000 = frechet_distance(mu_real, sigma_real, *gaussian_statistics(fake))
    extrapolated = frechet_infinity(real, fake, num_points=15, min_fraction=0.1, seed=0)
    assert at_300 - exact > 0.8 and at_3000 - exact > 0.08  # the 1/N bias
    assert extrapolated["fid_infinity"] == pytest.approx(exact, abs=0.05)
    assert extrapolated["fid_infinity_slope"] > 0  # FID falls as N grows


def test_the_frechet_evaluation_logs_them_from_the_features_it_scores_fid_with(tmp_path):
    """Wiring: names follow the backbone, the real radii are cached beside the real features, and
    the values are the functions above applied to exactly the real and generated features."""
    from ganarena.metrics.frechet import FrechetEvaluation
    from ganarena.metrics.real_stats import cache_path
    from test_metrics import PoolFeatures, digits

    datamodule, real_images = digits()
    evaluation = FrechetEvaluation(
        PoolFeatures(), num_fake=300, num_real=400, cache_dir=str(tmp_path), kid_subset_size=200, fid_infinity=True
    )
    evaluation.prepare(datamodule, torch.device("cpu"))
    features = cache_path(tmp_path, "digits-all-1x32x32", "pool4", 400)
    assert (tmp_path / "real_radii" / f"{features.stem}__k3.pt").is_file()
    assert (tmp_path / "real_radii" / f"{features.stem}__k5.pt").is_file()
    fake_images = (real_images[:300].flip(-1) * 0.9).clamp(-1, 1)
    evaluation.update(fake_images)
    values = evaluation.compute()
    assert sorted(values) == sorted(evaluation.names)
    real, fake = evaluation._real, PoolFeatures()(fake_images).double()
    expected = precision_recall(real, fake, 3) | density_coverage(real, fake, 5)
    assert {k: values[f"{k}_pool"] for k in expected} == pytest.approx(expected, abs=1e-12)
    assert values["fd_pool_infinity"] == pytest.approx(frechet_infinity(real, fake, 15, seed=0)["fid_infinity"])
    assert evaluation.protocol()["precision_recall_k"] == 3 and evaluation.protocol()["density_coverage_k"] == 5


def test_inception_score_formula_matches_torch_fidelity_and_its_closed_forms():
    from torch_fidelity.metric_isc import isc_features_to_metric

    from ganarena.metrics.inception_score import inception_score

    logits = gaussian(500, 1008, 11, std=3.0)
    reference = isc_features_to_metric(logits, splits=10, shuffle=False)
    assert inception_score(logits, 10) == pytest.approx(
        (reference["inception_score_mean"], reference["inception_score_std"]), rel=1e-9
    )
    confident = 50.0 * torch.eye(10).repeat(3, 1)  # 30 samples, each sure of its class, classes balanced
    assert inception_score(confident, 1)[0] == pytest.approx(10.0, rel=1e-6)
    assert inception_score(confident[:, [0] * 10], 1)[0] == pytest.approx(1.0)  # one class for all: no diversity


def test_the_inception_score_refuses_to_run_without_the_real_network_and_scores_a_stand_in_exactly(tmp_path):
    from conftest import FAST, compose_config
    from ganarena.errors import ConfigError
    from ganarena.metrics.inception_score import InceptionScoreEvaluation, inception_score
    from ganarena.run.build import build_evaluations
    from test_metrics import digits

    datamodule, _ = digits()
    cfg = compose_config([*FAST, "metrics=inception_score"], tmp_path)
    with pytest.raises(ConfigError, match=re.escape("metrics.inception_score.weights_path=/path/to/it")):
        build_evaluations(cfg, datamodule)

    class LevelClasses(torch.nn.Module):
        """A stand-in with known outputs: 12 logits from the mean level of each twelfth of the image."""

        def forward(self, levels):
            return levels.float().flatten(1).unflatten(1, (12, -1)).mean(dim=2) / 8

    class StandIn(InceptionScoreEvaluation):
        def load_network(self):
            return LevelClasses()

    class Generator(torch.nn.Module):
        latent_dim = 4

        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(4, 32 * 32)

        def forward(self, z):
            return torch.tanh(self.linear(z)).view(-1, 1, 32, 32)

    torch.manual_seed(0)
    generator = Generator()
    evaluation = StandIn(weights_path=None, num_samples=60, splits=3, batch_size=25, seed=7)
    values = evaluation.run(generator, datamodule, "cpu")
    with torch.no_grad():
        images = generator(evaluation.noise(4)).float()
    levels = ((images.clamp(-1, 1) + 1) * 127.5).round().repeat(1, 3, 1, 1)
    assert (values["is"], values["is_std"]) == pytest.approx(inception_score(LevelClasses()(levels), 3), rel=1e-9)
