"""Aligned CelebA faces (178x218 JPEGs), center-cropped and resized to 3x64x64: the DCGAN setup.

crop_size=108 by default: the crop of DCGAN-tensorflow (`--input_height=108 --crop`), the
implementation the DCGAN CelebA results and many later papers' 64x64 CelebA numbers come from; it
keeps the face and little background. Other codes use 140 (tensorpack, BEGAN-style) or 178 (the
full width: pytorch/examples' Resize(64) + CenterCrop(64)). FIDs compare only at the same crop,
so `crop_size` is part of `reference_id`.

`split` (training images) and `reference_split` (FID reference) are `all` (202,599 images, as
DCGAN-tensorflow trains), `train`, `valid` or `test`, following list_eval_partition.txt.

Files, in torchvision's layout (torchvision downloads them from Google Drive with `gdown`):

    <root>/celeba/img_align_celeba/000001.jpg ... 202599.jpg
    <root>/celeba/list_eval_partition.txt          "000001.jpg 0" per line (0 train, 1 valid, 2 test)
"""

from __future__ import annotations

import os
from pathlib import Path

from torchvision import datasets

from ganarena.data.base import UnreadableDataError
from ganarena.data.download import RequiredFiles, ensure_files
from ganarena.data.image_files import ImageFiles, ImageFilesDataModule
from ganarena.errors import ConfigError, DataNotFoundError

PARTITIONS = {"train": "0", "valid": "1", "test": "2"}
SPLITS = ("all", *PARTITIONS)
IMAGES = "img_align_celeba"
PARTITION_FILE = "list_eval_partition.txt"
SOURCE = (
    "Google Drive (torchvision needs `pip install gdown` for it, and Google Drive often refuses"
    " with a quota error; the same files are linked from https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html:"
    f" unzip img_align_celeba.zip and put {PARTITION_FILE} beside it)"
)


class CelebADataModule(ImageFilesDataModule):
    name = "celeba"

    def __init__(
        self,
        batch_size: int,
        batches_per_step: int = 1,
        root: str = "data",
        download: bool = True,
        split: str = "all",
        reference_split: str = "all",
        resolution: int = 64,
        crop_size: int | None = 108,
        download_timeout: float = 20.0,
        **image_options,
    ):
        super().__init__(batch_size, batches_per_step, resolution, channels=3, crop_size=crop_size, **image_options)
        for key, value in (("split", split), ("reference_split", reference_split)):
            if value not in SPLITS:
                raise ConfigError(f"data.{key} must be one of {', '.join(SPLITS)}, got {value!r}")
        self.root = Path(root)
        self.download = download
        self.split = split
        self.reference_split = reference_split
        self.download_timeout = download_timeout

    @property
    def folder(self) -> Path:
        return self.root / datasets.CelebA.base_folder

    @property
    def reference_id(self) -> str:
        return f"celeba-{self.reference_split}-{self.transform.id}"

    def prepare_data(self) -> None:
        required = RequiredFiles("CelebA", self.folder, (f"{IMAGES}/", PARTITION_FILE), SOURCE)
        ensure_files(required, self.download, self._fetch, self.download_timeout)

    def _fetch(self) -> None:
        datasets.CelebA(str(self.root), split="all", target_type=[], download=True)

    def list_images(self, split: str) -> ImageFiles:
        self.prepare_data()  # outside a Trainer nobody else checks (or fetches) the files
        try:
            with open(self.folder / PARTITION_FILE) as f:
                rows = [line.split() for line in f if line.strip()]
            names = [name for name, part in rows if split == "all" or part == PARTITIONS[split]]
        except ValueError as error:
            raise UnreadableDataError(
                f"{self.folder / PARTITION_FILE} is not CelebA's partition file ('000001.jpg 0' per line): {error}"
            ) from error
        present = set(os.listdir(self.folder / IMAGES))
        missing = [name for name in names if name not in present]
        if missing or not names:
            raise DataNotFoundError(
                f"CelebA is incomplete: {len(missing)} of the {len(names)} {split} images listed in {PARTITION_FILE}"
                f" are missing from {self.folder / IMAGES} (first: {', '.join(missing[:3]) or 'none listed'})."
                f" Unzip all of img_align_celeba.zip there; it comes from {SOURCE}."
            )
        return self.image_files(self.folder / IMAGES, names)

    def train_dataset(self) -> ImageFiles:
        return self.files(self.split)

    def reference_dataset(self) -> ImageFiles:
        return self.files(self.reference_split)
