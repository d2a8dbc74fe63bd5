"""CIFAR-10: 50,000 training images, 3x32x32, as they are (no resizing), served from memory.

FID on CIFAR-10 is reported against the training images in most papers and against the test
images in some: `reference_split` (train by default) chooses, and is part of `reference_id`.

Files, in torchvision's layout (the python version of the data set, unpacked):

    <root>/cifar-10-batches-py/data_batch_1 ... data_batch_5   (train)
    <root>/cifar-10-batches-py/test_batch                      (test)

The batches are pickles. They are read by `BatchUnpickler`, which builds only what a CIFAR batch
holds (dicts, lists, strings, numpy arrays), so a planted file under `data.root` (a checkpoint's
stored config names one) is refused instead of running code.
"""

from __future__ import annotations

import codecs
import pickle

import numpy as np
import torch
from torch import Tensor
from torchvision import datasets

from ganarena.data.base import UnreadableDataError
from ganarena.data.download import RequiredFiles
from ganarena.data.torchvision_sets import TorchvisionDataModule

# The only classes a CIFAR-10 batch pickle names: numpy arrays (numpy 1 and 2 module names) and,
# for bytes pickled by Python 3, the codec that rebuilds them.
_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(1))[0]
BATCH_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,
}


class BatchUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in BATCH_GLOBALS:
            raise pickle.UnpicklingError(f"it names {module}.{name}, which no CIFAR-10 batch holds; nothing was run")
        return BATCH_GLOBALS[module, name]


BATCHES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}


class CIFAR10DataModule(TorchvisionDataModule):
    name = "cifar10"

    @property
    def shape(self) -> tuple[int, ...]:
        return (3, 32, 32)

    @property
    def folder(self):
        return self.root / datasets.CIFAR10.base_folder

    def required_files(self, splits: tuple[str, ...]) -> RequiredFiles:
        return RequiredFiles(
            name="CIFAR-10",
            folder=self.folder,
            files=tuple(name for split in splits for name in BATCHES[split]),
            source=datasets.CIFAR10.url,
        )

    def fetch(self) -> None:
        datasets.CIFAR10(str(self.root), train=True, download=True)

    def read_split(self, split: str) -> tuple[Tensor, Tensor]:
        images, labels = [], []
        for name in BATCHES[split]:
            path = self.folder / name
            try:
                with open(path, "rb") as f:
                    batch = BatchUnpickler(f, encoding="latin1").load()
                images.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
                labels.append(np.asarray(batch["labels"], dtype=np.int64))
                if len(labels[-1]) != len(images[-1]):
                    raise ValueError(f"{len(images[-1])} images but {len(labels[-1])} labels")
            except (OSError, EOFError, ValueError, KeyError, TypeError, pickle.UnpicklingError) as error:
                raise UnreadableDataError(
                    f"{path} is not a CIFAR-10 python batch ({type(error).__name__}: {error}); delete"
                    f" {self.folder} and run again with data.download=true"
                ) from error
        return torch.from_numpy(np.concatenate(images)), torch.from_numpy(np.concatenate(labels))
