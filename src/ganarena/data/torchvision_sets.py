"""Base for the small torchvision data sets (MNIST, Fashion-MNIST, CIFAR-10): files -> memory.

A subclass names its files in torchvision's on-disk layout (`required_files`), the torchvision
class that downloads them (`fetch`), and how to read one split into a uint8 tensor (N, C, H, W)
plus labels (`read_split`). This base downloads when allowed (`prepare_data`, once per node under
DDP), reads each split once, and serves the training split from memory as floats in [-1, 1]
(`Uint8Images`): no per-item file reads or PIL decoding. Training always uses the train split;
`reference_split` chooses the split FID reference statistics come from.
"""

from __future__ import annotations

from pathlib import Path

from torch import Tensor
from torch.utils.data import Dataset

from ganarena.data.download import RequiredFiles, ensure_files
from ganarena.data.images import uint8_to_signed
from ganarena.data.in_memory import InMemoryDataModule, Uint8Images
from ganarena.errors import ConfigError

SPLITS = ("train", "test")


class TorchvisionDataModule(InMemoryDataModule):
    name = ""  # in reference ids, e.g. "mnist"
    preprocessing = ""  # in reference ids when the images are changed, e.g. "pad32"

    def __init__(
        self,
        batch_size: int,
        batches_per_step: int = 1,
        root: str = "data",
        download: bool = True,
        reference_split: str = "train",
        download_timeout: float = 20.0,
        num_workers: int = 0,
        pin_memory: bool | None = None,
        persistent_workers: bool = True,
    ):
        super().__init__(batch_size, batches_per_step, num_workers, pin_memory, persistent_workers)
        if reference_split not in SPLITS:
            raise ConfigError(f"data.reference_split must be one of {', '.join(SPLITS)}, got {reference_split!r}")
        self.root = Path(root)
        self.download = download
        self.reference_split = reference_split
        self.download_timeout = download_timeout
        self._splits: dict[str, tuple[Tensor, Tensor]] = {}

    def required_files(self, splits: tuple[str, ...]) -> RequiredFiles:
        raise NotImplementedError

    def fetch(self) -> None:
        """Download every split with torchvision's own code."""
        raise NotImplementedError

    def read_split(self, split: str) -> tuple[Tensor, Tensor]:
        """(uint8 images (N, C, H, W) as stored in `self.shape`, int64 labels (N,))."""
        raise NotImplementedError

    @property
    def reference_id(self) -> str:
        parts = [self.name, self.reference_split, self.preprocessing, "x".join(map(str, self.shape))]
        return "-".join(p for p in parts if p)

    def prepare_data(self) -> None:
        ensure_files(self.required_files(self._used_splits()), self.download, self.fetch, self.download_timeout)

    def setup(self, stage: str | None = None) -> None:
        self.prepare_data()  # every rank: the reference split must be there too, before training
        super().setup(stage)

    def images(self, split: str = "train") -> Tensor:
        return self._split(split)[0]

    def _split(self, split: str) -> tuple[Tensor, Tensor]:
        if split not in self._splits:
            # Outside a Trainer nobody called prepare_data; reading must still find or fetch the files.
            ensure_files(self.required_files((split,)), self.download, self.fetch, self.download_timeout)
            images, labels = self.read_split(split)
            if tuple(images.shape[1:]) != self.shape:
                raise RuntimeError(
                    f"{self.name} {split} images have shape {tuple(images.shape[1:])}, expected {self.shape}"
                )
            self._splits[split] = images, labels
        return self._splits[split]

    def _used_splits(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(("train", self.reference_split)))

    def build_samples(self) -> Tensor:
        return uint8_to_signed(self.images("train"))

    def build_labels(self) -> Tensor:
        return self._split("train")[1]

    def train_dataset(self) -> Dataset:
        return Uint8Images(self.images("train"))

    def reference_dataset(self) -> Dataset:
        return Uint8Images(self.images(self.reference_split))
