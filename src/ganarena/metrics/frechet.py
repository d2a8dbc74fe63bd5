"""FID, KID, precision/recall, density/coverage and optionally FID-infinity, in a backbone's features.

    fid = FrechetEvaluation(backbone=InceptionV3(), num_real=10_000, num_fake=10_000, every_n_iterations=1000)

With the standard `InceptionV3` backbone these are the standard FID and KID, logged as val/fid,
val/kid and val/kid_std, with val/precision, val/recall (k = `precision_recall_k`), val/density,
val/coverage (k = `density_coverage_k`) and, with `fid_infinity`, val/fid_infinity (manifold.py,
frechet_infinity.py). Another backbone logs under its own names (val/fd_classifier,
val/precision_classifier, ...), so nobody mistakes its numbers for Inception's. `best_checkpoint`
follows the Frechet distance.

The backbone runs once per image: its features feed torchmetrics' `FrechetInceptionDistance`
and `KernelInceptionDistance` through a pass-through `feature=` module, and the real side comes
from the on-disk cache (real_stats.py), so an evaluation only generates and embeds fakes.

Under DDP the real features enter the metric states on rank 0 only. The states are summed (FID)
or concatenated (KID) across ranks when the values are computed, so real statistics loaded on
every rank would be counted world-size times; each rank adds its own share of fakes instead. KID
draws its random subsets from a private seed: the value is reproducible and the global random
state untouched.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from ganarena.metrics.backbone import Backbone
from ganarena.metrics.distributed import broadcast_from_zero, gather_in_rank_order
from ganarena.metrics.evaluation import Evaluation
from ganarena.metrics.frechet_infinity import frechet_infinity
from ganarena.metrics.manifold import density_coverage, precision_recall
from ganarena.metrics.real_stats import real_features, real_radii


class PrecomputedFeatures(nn.Module):
    """torchmetrics' `feature=` network for features computed beforehand: returns its input.

    `num_features` tells torchmetrics the feature size; without it FID would probe the module
    with a random 299x299 image to find out.
    """

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, features: Tensor) -> Tensor:
        return features


class FrechetEvaluation(Evaluation):
    def __init__(
        self,
        backbone: Backbone,
        num_fake: int = 10_000,
        num_real: int | None = 10_000,
        every_n_iterations: int = 1000,
        batch_size: int = 100,
        seed: int = 0,
        cache_dir: str = "data/metrics_cache",
        kid_subsets: int = 100,
        kid_subset_size: int = 1000,
        best_checkpoint: str | None = None,
        precision_recall_k: int | None = 3,
        density_coverage_k: int | None = 5,
        fid_infinity: bool = False,
        fid_infinity_points: int = 15,
    ):
        super().__init__(num_fake, every_n_iterations, batch_size, seed, best_checkpoint)
        self.backbone = backbone
        self.num_real = num_real
        self.cache_dir = Path(cache_dir)
        self.kid_subsets = kid_subsets
        self.kid_subset_size = kid_subset_size
        self.precision_recall_k = precision_recall_k
        self.density_coverage_k = density_coverage_k
        self.fid_infinity = fid_infinity
        self.fid_infinity_points = fid_infinity_points
        self._real: Tensor | None = None  # rank 0's real features, for the k-NN and FID-infinity values
        self._radii: dict[int, Tensor] = {}
        self.fid: FrechetInceptionDistance | None = None
        self.kid: KernelInceptionDistance | None = None
        self._fakes: list[Tensor] = []
        self._details: dict[str, Any] = {}

    @property
    def names(self) -> list[str]:
        backbone = self.backbone
        return [backbone.fid_name, backbone.kid_name, f"{backbone.kid_name}_std", *map(self._name, self._extra_keys)]

    @property
    def _extra_keys(self) -> list[str]:
        keys = ["precision", "recall"] if self.precision_recall_k else []
        keys += ["density", "coverage"] if self.density_coverage_k else []
        return keys + (["fid_infinity"] if self.fid_infinity else [])

    def _name(self, key: str) -> str:
        if key == "fid_infinity":
            return f"{self.backbone.fid_name}_infinity"
        # The backbone's own suffix: "" for the standard network, "_classifier" after val/fd_classifier.
        return key + self.backbone.fid_name.removeprefix("fid").removeprefix("fd")

    @property
    def monitor(self) -> str:
        return self.backbone.fid_name

    def incompatibility(self, datamodule) -> str | None:
        return self.backbone.incompatibility(tuple(datamodule.shape), datamodule)

    def check(self) -> None:
        self.backbone.check()

    def prepare(self, datamodule, device: torch.device) -> None:
        self.backbone.prepare(datamodule, self.cache_dir)
        self.backbone.to(device).eval()
        real = real_features(self.backbone, datamodule, self.num_real, self.cache_dir, device, self.batch_size)
        num_real = broadcast_from_zero(None if real is None else len(real))
        size = self.backbone.num_features
        subset_size = min(self.kid_subset_size, num_real, self.num_samples)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*will save all extracted features in buffer")
            self.kid = KernelInceptionDistance(
                feature=PrecomputedFeatures(size),
                subsets=self.kid_subsets,
                subset_size=subset_size,
                reset_real_features=False,
            ).to(device)
        self.fid = FrechetInceptionDistance(feature=PrecomputedFeatures(size), reset_real_features=False).to(device)
        # Rank 0 alone holds the real side; an empty tensor elsewhere keeps the KID gather symmetric.
        real = torch.empty(0, size) if real is None else real
        real = real.to(device, torch.float64)
        self.fid.update(real, real=True)
        self.kid.update(real, real=True)
        if len(real):
            self._real = real
            for k in {self.precision_recall_k, self.density_coverage_k} - {None}:
                self._radii[k] = real_radii(self._real, self.cache_dir, datamodule.reference_id, self.backbone.id, k)
        self._details = {
            **self.backbone.describe(),
            "reference": datamodule.reference_id,
            "num_real": num_real,
            "kid_subsets": self.kid_subsets,
            "kid_subset_size": subset_size,
            "precision_recall_k": self.precision_recall_k,
            "density_coverage_k": self.density_coverage_k,
            "fid_infinity": f"{self.fid_infinity_points} sizes, 10%..100% of num_fake" if self.fid_infinity else None,
        }

    def update(self, fake: Tensor) -> None:
        self._fakes.append(self.backbone(fake).to(torch.float64))

    def compute(self) -> dict[str, float]:
        size = self.backbone.num_features
        device = self.fid.real_features_sum.device
        # One update per rank and evaluation: KID's list states must hold as many tensors on every rank.
        fakes = torch.cat(self._fakes) if self._fakes else torch.empty(0, size, dtype=torch.float64, device=device)
        self.fid.update(fakes, real=False)
        self.kid.update(fakes, real=False)
        fid = self.fid.compute()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            kid_mean, kid_std = self.kid.compute()
        fid_name, kid_name, kid_std_name, *_ = self.names
        values = {fid_name: fid.item(), kid_name: kid_mean.item(), kid_std_name: kid_std.item()}
        if self._extra_keys:
            values.update(self._manifold_values(gather_in_rank_order(fakes)))
        return values

    def _manifold_values(self, fakes: Tensor) -> dict[str, float]:
        """The k-NN and FID-infinity values, computed on rank 0 (which holds the real side) and shared."""
        values: dict[str, float] = {}
        if self._real is not None:
            fakes = fakes.to(self._real.device)
            if self.precision_recall_k:
                k = self.precision_recall_k
                values.update(precision_recall(self._real, fakes, k, self._radii[k]))
            if self.density_coverage_k:
                k = self.density_coverage_k
                values.update(density_coverage(self._real, fakes, k, self._radii[k]))
            if self.fid_infinity:
                extrapolated = frechet_infinity(self._real, fakes, self.fid_infinity_points, seed=self.seed)
                values["fid_infinity"] = extrapolated["fid_infinity"]
        return {self._name(key): value for key, value in broadcast_from_zero(values).items()}

    def reset(self) -> None:
        self._fakes = []
        if self.fid is not None:
            self.fid.reset()
            self.kid.reset()

    def protocol(self) -> dict[str, Any]:
        return {**self._details, **super().protocol()}
