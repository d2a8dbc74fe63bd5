"""Quality and diversity apart: k-nearest-neighbour manifolds of real and generated features.

    radii = kth_neighbour_radii(real, k=3)                      # cache these beside the real features
    precision_recall(real, fake, k=3, real_radii=radii)        # {"precision": ..., "recall": ...}
    density_coverage(real, fake, k=5, real_radii=radii5)       # {"density": ..., "coverage": ...}

Improved precision and recall (Kynkäänniemi et al., NeurIPS 2019, arXiv 1904.06991): a sample's
manifold is the union of balls around each of its points reaching that point's k-th nearest
neighbour (k = 3). Precision is the share of generated samples inside the real manifold (quality);
recall the share of real samples inside the generated manifold (coverage of the data).

Density and coverage (Naeem et al., ICML 2020, arXiv 2002.09797), k = 5: density counts how many
real balls each generated sample falls in, divided by k (1 when fakes are distributed like the
reals, above 1 where they crowd dense regions); coverage is the share of real balls that hold at
least one generated sample. Both use the real balls only, so a few generated outliers do not
inflate them as they inflate recall.

A point is inside a ball when its distance is strictly smaller than the radius, as in the
reference code of Naeem et al. (the `prdc` package). Distances are Euclidean, in float64, on the
features' device, in blocks, so memory stays at `block x N`.
"""

from __future__ import annotations

import torch
from torch import Tensor

BLOCK = 1024


def _distances(a: Tensor, b: Tensor) -> Tensor:
    # float64 keeps the matrix-product form of cdist (fast, on any device) accurate to ~1e-12.
    return torch.cdist(a.double(), b.double())


def kth_neighbour_radii(features: Tensor, k: int) -> Tensor:
    """Each point's distance to its k-th nearest other point, shape (N,)."""
    if not 1 <= k < len(features):
        raise ValueError(f"k must be between 1 and the number of points - 1 ({len(features) - 1}), got {k}")
    # k + 1: the point itself is its own nearest neighbour, at distance 0.
    return torch.cat([_distances(block, features).kthvalue(k + 1, dim=1).values for block in features.split(BLOCK)])


def _inside_real_balls(real: Tensor, fake: Tensor, real_radii: Tensor) -> Tensor:
    """(N_real, N_fake) booleans: fake j lies inside the ball of real i."""
    return torch.cat(
        [
            _distances(block, fake) < radii[:, None]
            for block, radii in zip(real.split(BLOCK), real_radii.split(BLOCK), strict=True)
        ]
    )


def precision_recall(real: Tensor, fake: Tensor, k: int = 3, real_radii: Tensor | None = None) -> dict[str, float]:
    real_radii = kth_neighbour_radii(real, k) if real_radii is None else real_radii
    fake_radii = kth_neighbour_radii(fake, k)
    precision = _inside_real_balls(real, fake, real_radii).any(dim=0).double().mean()
    recall = _inside_real_balls(fake, real, fake_radii).any(dim=0).double().mean()
    return {"precision": precision.item(), "recall": recall.item()}


def density_coverage(real: Tensor, fake: Tensor, k: int = 5, real_radii: Tensor | None = None) -> dict[str, float]:
    real_radii = kth_neighbour_radii(real, k) if real_radii is None else real_radii
    inside = _inside_real_balls(real, fake, real_radii)
    density = inside.sum(dim=0).double().mean() / k
    coverage = inside.any(dim=1).double().mean()
    return {"density": density.item(), "coverage": coverage.item()}
