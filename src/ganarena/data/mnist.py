"""MNIST and Fashion-MNIST: 28x28 grey images, zero-padded to 1x32x32, served from memory.

Padded, not resized: the DCGAN model needs 32x32, and padding keeps every original pixel (no
interpolation blur that would change stroke statistics), is the LeNet-5 convention for 32x32
MNIST, and leaves the digits where a digit classifier trained on the padded images expects them
(the Stacked MNIST mode counter relies on that). Both sets have a black (0) background, so the
2-pixel border is background, -1 after scaling.

Files, in torchvision's layout (each as .gz, as downloaded, or unpacked):

    <root>/MNIST/raw/train-images-idx3-ubyte.gz   train-labels-idx1-ubyte.gz
                     t10k-images-idx3-ubyte.gz    t10k-labels-idx1-ubyte.gz
    <root>/FashionMNIST/raw/...                   (the same names)
"""

from __future__ import annotations

import gzip
import math
import struct
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torchvision import datasets

from ganarena.data.base import UnreadableDataError
from ganarena.data.download import RequiredFiles
from ganarena.data.images import pad_to
from ganarena.data.torchvision_sets import TorchvisionDataModule

FILE_PREFIX = {"train": "train", "test": "t10k"}


def read_idx(path: Path) -> np.ndarray:
    """An IDX file of unsigned bytes (the MNIST format), gzipped or not, as an array."""
    try:
        with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as f:
            data = f.read()
        zero, dtype, ndim = struct.unpack(">HBB", data[:4])
        dims = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
        if zero != 0 or dtype != 0x08 or len(data) != 4 + 4 * ndim + math.prod(dims):
            raise ValueError(f"header says {dims} bytes of type {dtype:#x}, file holds {len(data)} bytes")
    except (OSError, EOFError, ValueError, struct.error) as error:
        raise UnreadableDataError(
            f"{path} is not a valid IDX file ({error}); delete it and run again with data.download=true"
        ) from error
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _gz_or_unpacked(path: Path) -> bool:
    return path.exists() or path.with_suffix("").exists()


def _existing(path: Path) -> Path:
    return path if path.exists() else path.with_suffix("")


class MNISTDataModule(TorchvisionDataModule):
    name = "mnist"
    preprocessing = "pad32"
    torchvision_class = datasets.MNIST

    @property
    def shape(self) -> tuple[int, ...]:
        return (1, 32, 32)

    @property
    def folder(self) -> Path:
        # torchvision's raw folder: <root>/<class name>/raw
        return self.root / self.torchvision_class.__name__ / "raw"

    def required_files(self, splits: tuple[str, ...]) -> RequiredFiles:
        names = tuple(f"{FILE_PREFIX[s]}-{kind}-ubyte.gz" for s in splits for kind in ("images-idx3", "labels-idx1"))
        return RequiredFiles(
            name=self.torchvision_class.__name__,
            folder=self.folder,
            files=names,
            source=self.torchvision_class.mirrors[0],
            present=_gz_or_unpacked,
        )

    def fetch(self) -> None:
        self.torchvision_class(str(self.root), train=True, download=True)

    def read_split(self, split: str) -> tuple[Tensor, Tensor]:
        prefix = FILE_PREFIX[split]
        images = read_idx(_existing(self.folder / f"{prefix}-images-idx3-ubyte.gz"))
        labels = read_idx(_existing(self.folder / f"{prefix}-labels-idx1-ubyte.gz"))
        if images.ndim != 3 or labels.shape != images.shape[:1]:
            raise UnreadableDataError(
                f"{self.folder}: {prefix} images {images.shape} and labels {labels.shape} do not match;"
                " delete the files and download them again"
            )
        images = torch.from_numpy(images.copy()).unsqueeze(1)  # copy: frombuffer arrays are read-only
        return pad_to(images, 32), torch.from_numpy(labels.astype(np.int64))


class FashionMNISTDataModule(MNISTDataModule):
    name = "fashion_mnist"
    torchvision_class = datasets.FashionMNIST
