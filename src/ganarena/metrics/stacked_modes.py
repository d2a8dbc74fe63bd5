"""Mode coverage of stacked digit sets (stacked_mnist, stacked_digits): how many of the 1,000 modes.

    stacked = StackedModeEvaluation(num_samples=26_000, every_n_iterations=1000)

Every channel of a generated image is read by the data set's digit classifier (classifier.py,
trained once on single channels of the real images and cached); the digits give the mode,
100 d0 + 10 d1 + d2. Logged: val/modes_covered (modes with at least one sample, of `num_modes`)
and val/mode_kl = KL(histogram of the samples over the modes || uniform). The Unrolled GAN,
VEEGAN and PacGAN papers count 26,000 samples.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganarena.metrics.backbone import from_levels, quantize
from ganarena.metrics.classifier import DigitClassifier, digits_label, layout_problem, load_or_train_classifier
from ganarena.metrics.evaluation import Evaluation
from ganarena.metrics.modes import ModeHistogram, kl_to_uniform


class StackedModeEvaluation(Evaluation):
    def __init__(
        self,
        num_samples: int = 26_000,
        every_n_iterations: int = 1000,
        batch_size: int = 500,
        seed: int = 0,
        cache_dir: str = "data/metrics_cache",
        classifier_steps: int = 500,
    ):
        super().__init__(num_samples, every_n_iterations, batch_size, seed)
        self.cache_dir = Path(cache_dir)
        self.classifier_steps = classifier_steps
        self.classifier: DigitClassifier | None = None
        self.histogram: ModeHistogram | None = None
        self._details: dict[str, Any] = {}

    @property
    def names(self) -> list[str]:
        return ["modes_covered", "mode_kl"]

    def incompatibility(self, datamodule) -> str | None:
        num_modes = getattr(datamodule, "num_modes", None)
        if num_modes is None or len(datamodule.shape) != 3 or datamodule.shape[0] < 2:
            name = type(datamodule).__name__
            return f"mode coverage needs a stacked digit set (stacked_mnist, stacked_digits), not {name}"
        return layout_problem(datamodule)

    def prepare(self, datamodule, device: torch.device) -> None:
        classifier, info = load_or_train_classifier(datamodule, self.cache_dir, self.classifier_steps)
        self.classifier = classifier.to(device)
        self.histogram = ModeHistogram(datamodule.num_modes).to(device)
        self._details = {
            "classifier": f"digit-classifier-{datamodule.reference_id}-{info['sha1'][:8]}",
            "classifier_accuracy": info["accuracy"],
            "num_modes": datamodule.num_modes,
        }

    def update(self, fake: Tensor) -> None:
        # Read as the 8-bit image a saved sample would be, like the classifier's training images.
        self.histogram.update(digits_label(self.classifier.read(from_levels(quantize(fake)))))

    def compute(self) -> dict[str, float]:
        counts, _ = self.histogram.compute()
        return {"modes_covered": float((counts > 0).sum()), "mode_kl": kl_to_uniform(counts)}

    def reset(self) -> None:
        if self.histogram is not None:
            self.histogram.reset()

    def protocol(self) -> dict[str, Any]:
        return {**self._details, **super().protocol()}
