"""A small digit classifier trained on the data set itself: mode counter and cheap FID backbone.

    classifier, info = load_or_train_classifier(datamodule, Path("data/metrics_cache"))  # once, cached
    digits = classifier.read(images)        # (N, digits per image): the digit of each channel
    backbone = ClassifierFeatures()         # its features for FID/KID: val/fd_classifier, val/kd_classifier

For digit-like data: sets whose `labels` are the digits 0..9 (MNIST, scikit-learn's digits; grey
or grey repeated to RGB: one digit per image, read from the channel mean) and stacked sets with
`num_modes` = 10^C whose label numbers the digits of their C channels, label = sum_c d_c 10^(C-1-c)
(Stacked MNIST: 100 d0 + 10 d1 + d2: one digit per channel). The network reads one grey digit at
a time and is trained on single digits (the channels of stacked images, with their digit).

The recipe is fixed (seed, number of steps, optimiser), so every run on a data set measures with
the same classifier: it is trained once per data set and cached under cache_dir/classifiers/.
Its held-out accuracy is logged with the metrics. It sees images quantised to 8 bits, as the
metrics later show it.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn
from torch import Tensor, nn

from ganarena.errors import ConfigError
from ganarena.metrics.backbone import Backbone, from_levels, quantize
from ganarena.metrics.cache import atomic_save, load_cached
from ganarena.metrics.distributed import broadcast_from_zero, rank_and_world

RECIPE = "v1"  # bump when the network or its training changes: cached classifiers are then retrained
INPUT_SIZE = 32
BATCH_SIZE = 128
HELD_OUT = 0.1


class DigitClassifier(nn.Module):
    """Grey digits (M, 1, H, W) in [-1, 1] -> 10 logits; `features`: the 128 activations before them."""

    feature_size = 128

    def __init__(self, digits_per_image: int = 1, width: int = 16):
        super().__init__()
        self.digits_per_image = digits_per_image
        self.body = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(2 * width, 4 * width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(4 * width * (INPUT_SIZE // 8) ** 2, self.feature_size),
            nn.ReLU(),
        )
        self.head = nn.Linear(self.feature_size, 10)

    def features(self, digits: Tensor) -> Tensor:
        if digits.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
            digits = F.interpolate(digits, size=INPUT_SIZE, mode="bilinear", align_corners=False, antialias=True)
        return self.body(digits)

    def forward(self, digits: Tensor) -> Tensor:
        return self.head(self.features(digits))

    def split(self, images: Tensor) -> Tensor:
        """Images (N, C, H, W) -> their digits (N * digits_per_image, 1, H, W), image by image."""
        if self.digits_per_image == 1:
            return images.mean(dim=1, keepdim=True)
        return images.reshape(-1, 1, *images.shape[-2:])

    @torch.no_grad()
    def read(self, images: Tensor) -> Tensor:
        """(N, digits_per_image) predicted digits."""
        return self(self.split(images)).argmax(dim=1).reshape(len(images), self.digits_per_image)

    def image_features(self, images: Tensor) -> Tensor:
        """(N, 128 * digits_per_image): the features of an image's digits side by side."""
        return self.features(self.split(images)).reshape(len(images), -1)


def digits_per_image(datamodule) -> int:
    return round(math.log10(getattr(datamodule, "num_modes", 10)))


def layout_problem(datamodule) -> str | None:
    """Why the data are not digit-like for the classifier (judged from the config alone), or None."""
    shape = tuple(datamodule.shape)
    if len(shape) != 3:
        return f"the digit classifier reads images (C, H, W), but the data have shape {shape}"
    num_modes = getattr(datamodule, "num_modes", 10)
    digits = digits_per_image(datamodule)
    if 10**digits != num_modes or digits not in (1, shape[0]):
        return (
            f"the digit classifier reads one digit per image or one per channel, but the data have"
            f" {num_modes} modes over {shape[0]} channels"
        )
    return None


def _powers(digits: int, device: torch.device) -> Tensor:
    return 10 ** torch.arange(digits - 1, -1, -1, device=device)


def label_digits(labels: Tensor, digits: int) -> Tensor:
    """Mode labels (N,) -> (N, digits): label = sum_c d_c 10^(digits-1-c)."""
    return (labels.long().unsqueeze(1) // _powers(digits, labels.device)) % 10


def digits_label(digits: Tensor) -> Tensor:
    """(N, digits) -> mode labels (N,): the inverse of `label_digits`."""
    return (digits.long() * _powers(digits.shape[1], digits.device)).sum(dim=1)


def training_digits(datamodule, max_digits: int, seed: int) -> tuple[Tensor, Tensor]:
    """Up to `max_digits` single digits (M, 1, H, W), quantised to 8 bits, and their labels (M,)."""
    labels = datamodule.labels
    digits = digits_per_image(datamodule)
    if labels is None:
        raise ConfigError(
            f"the digit classifier trains on labelled data, but {type(datamodule).__name__} has no labels;"
            " use metrics/backbone=inception"
        )
    if labels.min() < 0 or labels.max() >= 10**digits:
        raise ConfigError(
            f"the digit classifier needs labels in 0..{10**digits - 1} (the digits of each image), got"
            f" {labels.min().item()}..{labels.max().item()}"
        )
    dataset = datamodule.train_dataset()
    count = min(len(dataset), math.ceil(max_digits / digits))
    index = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:count]
    images = torch.stack([dataset[i] for i in index.tolist()])
    reader = DigitClassifier(digits)
    return reader.split(from_levels(quantize(images))), label_digits(labels[index], digits).flatten()


def train_classifier(
    images: Tensor, targets: Tensor, digits: int, steps: int, seed: int
) -> tuple[DigitClassifier, float]:
    """The fixed recipe: Adam(1e-3), batches of 128 drawn with replacement, 10 % held out for the accuracy.

    On the CPU, always: the result is then the same on every machine, and so are cached statistics.
    """
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(images), generator=generator)
    held = max(1, int(len(images) * HELD_OUT))
    test, train = order[:held], order[held:]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DigitClassifier(digits)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    with torch.enable_grad():  # evaluations run under no_grad and train this on first use
        for _ in range(steps):
            batch = train[torch.randint(len(train), (BATCH_SIZE,), generator=generator)]
            loss = F.cross_entropy(model(images[batch]), targets[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        predicted = torch.cat([model(x).argmax(1) for x in images[test].split(1024)])
    return model.requires_grad_(False), (predicted == targets[test]).float().mean().item()


def load_or_train_classifier(
    datamodule,
    cache_dir: Path,
    steps: int = 500,
    seed: int = 0,
    max_digits: int = 60_000,
) -> tuple[DigitClassifier, dict[str, Any]]:
    """The data set's classifier, from the cache or trained (on rank 0) and cached; same on every rank.

    The global random state is left as it was: building networks draws from it, and a run that
    trains the classifier must follow the same trajectory as one (a resumed run) that loads it.
    """
    with torch.random.fork_rng(devices=[]):
        return _load_or_train_classifier(datamodule, cache_dir, steps, seed, max_digits)


def _load_or_train_classifier(
    datamodule, cache_dir: Path, steps: int, seed: int, max_digits: int
) -> tuple[DigitClassifier, dict[str, Any]]:
    digits = digits_per_image(datamodule)
    name = f"digit-classifier-{datamodule.reference_id}-{RECIPE}-steps{steps}-seed{seed}-max{max_digits}.pt"
    path = Path(cache_dir) / "classifiers" / name
    payload = None
    if rank_and_world()[0] == 0:
        payload = load_cached(path)
        if payload is None:
            rank_zero_info(f"metrics: training the digit classifier for {datamodule.reference_id} (cached in {path})")
            images, targets = training_digits(datamodule, max_digits, seed)
            model, accuracy = train_classifier(images, targets, digits, steps, seed)
            payload = {"state_dict": model.state_dict(), "digits_per_image": digits, "accuracy": accuracy}
            atomic_save(payload, path)
        if payload["accuracy"] < 0.9:
            rank_zero_warn(
                f"metrics: the digit classifier reaches only {payload['accuracy']:.1%} held-out accuracy on"
                f" {datamodule.reference_id}; mode counts and its distances will be unreliable"
            )
    payload = broadcast_from_zero(payload)
    model = DigitClassifier(payload["digits_per_image"])
    model.load_state_dict(payload["state_dict"])
    weights = b"".join(t.numpy().tobytes() for t in payload["state_dict"].values())
    info = {"accuracy": payload["accuracy"], "sha1": hashlib.sha1(weights).hexdigest()}
    return model.eval().requires_grad_(False), info


class ClassifierFeatures(Backbone):
    """FID/KID in the digit classifier's features: cheap on a CPU, meaningful for digit-like data only.

    Logged as fd_classifier / kd_classifier: distances in these features are not FIDs.
    """

    fid_name = "fd_classifier"
    kid_name = "kd_classifier"

    def __init__(self, classifier_steps: int = 500, seed: int = 0):
        super().__init__()
        self.classifier_steps = classifier_steps
        self.seed = seed
        self.classifier: DigitClassifier | None = None
        self.num_features = 0
        self._id = ""
        self._accuracy = float("nan")

    @property
    def id(self) -> str:
        return self._id

    def describe(self) -> dict[str, str | int | float]:
        return {"backbone": self.id, "classifier_accuracy": self._accuracy}

    def incompatibility(self, shape, datamodule) -> str | None:
        return layout_problem(datamodule)

    def prepare(self, datamodule, cache_dir: Path) -> None:
        if self.classifier is not None:
            return
        self.classifier, info = load_or_train_classifier(datamodule, cache_dir, self.classifier_steps, self.seed)
        self.num_features = DigitClassifier.feature_size * self.classifier.digits_per_image
        self._id = f"digit-classifier-{datamodule.reference_id}-{info['sha1'][:8]}"
        self._accuracy = info["accuracy"]

    def embed(self, levels: Tensor) -> Tensor:
        return self.classifier.image_features(from_levels(levels))
