"""The Frechet distance between Gaussians, and FID extrapolated to infinitely many samples.

    frechet_distance(mu1, sigma1, mu2, sigma2)                  # ||mu1 - mu2||^2 + Tr(s1 + s2 - 2 (s1 s2)^1/2)
    frechet_infinity(real_features, fake_features, seed=0)      # {"fid_infinity": ..., "fid_infinity_slope": ...}

FID is biased upward by a term roughly proportional to 1/N, N the number of generated samples,
so FIDs computed with different budgets do not compare. Chong and Forsyth (CVPR 2020, "Effectively
Unbiased FID and Inception Score and where to find them", arXiv 1911.07023) compute FID on
random subsets of `num_points` sizes evenly spaced from `min_fraction` of the samples to all of
them, fit FID = intercept + slope / N by least squares, and report the intercept: the FID at
1/N = 0. The subsets are drawn from a private seed.
"""

from __future__ import annotations

import torch
from torch import Tensor


def gaussian_statistics(features: Tensor) -> tuple[Tensor, Tensor]:
    features = features.double()
    return features.mean(dim=0), torch.cov(features.T)


def frechet_distance(mu1: Tensor, sigma1: Tensor, mu2: Tensor, sigma2: Tensor) -> float:
    # Tr((s1 s2)^1/2) = the sum of the square roots of the eigenvalues of s1 s2 (real and >= 0 for
    # covariances; rounding can leave tiny imaginary or negative parts, dropped).
    eigenvalues = torch.linalg.eigvals(sigma1.double() @ sigma2.double())
    trace_sqrt = eigenvalues.sqrt().real.sum()
    difference = (mu1.double() - mu2.double()).square().sum()
    return (difference + sigma1.trace() + sigma2.trace() - 2 * trace_sqrt).item()


def frechet_infinity(
    real: Tensor, fake: Tensor, num_points: int = 15, min_fraction: float = 0.1, seed: int = 0
) -> dict[str, float]:
    if not 0 < min_fraction < 1 or num_points < 2:
        raise ValueError(f"need 0 < min_fraction < 1 and num_points >= 2, got {min_fraction} and {num_points}")
    mu_real, sigma_real = gaussian_statistics(real)
    sizes = torch.linspace(max(2, int(min_fraction * len(fake))), len(fake), num_points).long()
    order = torch.randperm(len(fake), generator=torch.Generator().manual_seed(seed))
    fids = torch.tensor(
        [frechet_distance(mu_real, sigma_real, *gaussian_statistics(fake[order[:n]])) for n in sizes.tolist()],
        dtype=torch.float64,
    )
    design = torch.stack([torch.ones(num_points, dtype=torch.float64), 1 / sizes.double()], dim=1)
    intercept, slope = torch.linalg.lstsq(design, fids[:, None]).solution.flatten().tolist()
    return {"fid_infinity": intercept, "fid_infinity_slope": slope}
