"""Mode metrics of the toy 2-D mixtures (ring8, grid25), by the PacGAN protocol.

    toy = ToyModeEvaluation(num_samples=2500, every_n_iterations=100)

Each generated point goes to its nearest mode (Euclidean). A point is high quality when it lies
within `threshold_std` (3) standard deviations of that mode; a mode is captured when at least
one high-quality point goes to it. Logged: val/modes_captured (of 8 or 25),
val/high_quality_percent, and val/reverse_kl = KL(histogram of the high-quality points over the
modes || uniform), NaN when no point is high quality. PacGAN evaluates 2,500 samples.
"""

from __future__ import annotations

from typing import Any

import torch
from PIL import Image
from torch import Tensor

from ganarena.metrics.evaluation import Evaluation
from ganarena.metrics.modes import ModeHistogram, kl_to_uniform
from ganarena.visualize import scatter_plot


def nearest_modes(points: Tensor, means: Tensor, radius: float) -> tuple[Tensor, Tensor]:
    """(index of each point's nearest mode, whether it lies within `radius` of it)."""
    distances = torch.cdist(points.double(), means.double().to(points.device))
    nearest = distances.min(dim=1)
    return nearest.indices, nearest.values <= radius


class ToyModeEvaluation(Evaluation):
    def __init__(
        self,
        num_samples: int = 2500,
        every_n_iterations: int = 100,
        threshold_std: float = 3.0,
        batch_size: int = 2500,
        seed: int = 0,
    ):
        super().__init__(num_samples, every_n_iterations, batch_size, seed)
        self.threshold_std = threshold_std
        self.histogram: ModeHistogram | None = None
        self.means: Tensor | None = None
        self.radius = 0.0
        self.mixture_name = ""
        self.datamodule = None
        self._points: list[Tensor] = []
        self.last_points: Tensor | None = None

    @property
    def names(self) -> list[str]:
        return ["modes_captured", "high_quality_percent", "reverse_kl"]

    def incompatibility(self, datamodule) -> str | None:
        mixture = getattr(datamodule, "mixture", None)
        if mixture is None or not hasattr(mixture, "means"):
            return f"toy mode metrics need a Gaussian-mixture data set (ring8, grid25), not {type(datamodule).__name__}"
        return None

    def prepare(self, datamodule, device: torch.device) -> None:
        self.means = datamodule.mixture.means.to(device)
        self.radius = self.threshold_std * datamodule.mixture.std
        self.histogram = ModeHistogram(len(self.means)).to(device)
        self.mixture_name = getattr(datamodule.mixture, "name", type(datamodule).__name__)
        self.datamodule = datamodule

    def update(self, fake: Tensor) -> None:
        modes, high_quality = nearest_modes(fake.reshape(len(fake), -1), self.means, self.radius)
        self.histogram.update(modes[high_quality], seen=len(fake))
        self._points.append(fake.detach().cpu())

    def compute(self) -> dict[str, float]:
        counts, seen = self.histogram.compute()
        self.last_points = torch.cat(self._points) if self._points else None
        return {
            "modes_captured": float((counts > 0).sum()),
            "high_quality_percent": 100.0 * counts.sum().item() / max(seen.item(), 1),
            "reverse_kl": kl_to_uniform(counts),
        }

    def reset(self) -> None:
        self._points = []
        if self.histogram is not None:
            self.histogram.reset()

    def picture(self) -> Image.Image | None:
        """The points of the last evaluation (this rank's share) over as many real points."""
        if self.last_points is None:
            return None
        real = self.datamodule.real_samples(len(self.last_points), self.seed)
        return scatter_plot(real, self.last_points)

    def protocol(self) -> dict[str, Any]:
        return {
            "mixture": self.mixture_name,
            "num_modes": len(self.means),
            "high_quality_radius": self.radius,
            **super().protocol(),
        }
