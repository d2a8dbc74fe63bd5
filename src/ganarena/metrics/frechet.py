"""FID and KID through torchmetrics, between generated images and cached real ones, in a backbone's features.

    fid = FrechetEvaluation(backbone=InceptionV3(), num_real=10_000, num_fake=10_000, every_n_iterations=1000)

With the standard `InceptionV3` backbone these are the standard FID and KID, logged as val/fid,
val/kid and val/kid_std; another backbone logs under its own names (val/fd_classifier, ...), so
nobody mistakes its numbers for Inception's. `best_checkpoint` follows the Frechet distance.

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
from ganarena.metrics.distributed import broadcast_from_zero
from ganarena.metrics.evaluation import Evaluation
from ganarena.metrics.real_stats import real_features


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
    ):
        super().__init__(num_fake, every_n_iterations, batch_size, seed, best_checkpoint)
        self.backbone = backbone
        self.num_real = num_real
        self.cache_dir = Path(cache_dir)
        self.kid_subsets = kid_subsets
        self.kid_subset_size = kid_subset_size
        self.fid: FrechetInceptionDistance | None = None
        self.kid: KernelInceptionDistance | None = None
        self._fakes: list[Tensor] = []
        self._details: dict[str, Any] = {}

    @property
    def names(self) -> list[str]:
        return [self.backbone.fid_name, self.backbone.kid_name, f"{self.backbone.kid_name}_std"]

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
        self._details = {
            **self.backbone.describe(),
            "reference": datamodule.reference_id,
            "num_real": num_real,
            "kid_subsets": self.kid_subsets,
            "kid_subset_size": subset_size,
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
        fid_name, kid_name, kid_std_name = self.names
        return {fid_name: fid.item(), kid_name: kid_mean.item(), kid_std_name: kid_std.item()}

    def reset(self) -> None:
        self._fakes = []
        if self.fid is not None:
            self.fid.reset()
            self.kid.reset()

    def protocol(self) -> dict[str, Any]:
        return {**self._details, **super().protocol()}
