"""Base for image sets too large for memory (CelebA, image folders): decode one file per item.

Images are read from a directory or from inside a zip archive, decoded with PIL and
preprocessed by `ImageTransform` (center crop, resize, [-1, 1]) in the DataLoader workers, so
`num_workers`, `pin_memory` and `persistent_workers` decide the throughput.

Bad files are found before training, not in the middle of an epoch: `scan="header"` opens every
image's header (cheap: catches files that are not images, empty, or smaller than the crop),
`scan="decode"` decodes every image (slow on big sets: also catches truncated files), `"none"`
trusts the files. With `bad_images="error"` the run stops with the list of bad paths; with
`"skip"` they are left out, with a warning that names them. A bad file the scan missed is
handled the same way when it is read: refused with its path, or replaced by the next good image
(and named in a warning), so an epoch never dies on it in skip mode.
"""

from __future__ import annotations

import os
import warnings
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from lightning.pytorch.utilities import rank_zero_warn
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from ganarena.data.base import ArenaDataModule, UnreadableDataError
from ganarena.data.images import ImageTransform
from ganarena.errors import ConfigError

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".ppm", ".tif", ".tiff", ".webp")
BAD_IMAGE_POLICIES = ("error", "skip")
SCANS = ("none", "header", "decode")


def is_image_name(name: str) -> bool:
    # Hidden files and macOS resource forks (._x.jpg, __MACOSX/) carry image suffixes but no images.
    parts = Path(name).parts
    return name.lower().endswith(IMAGE_EXTENSIONS) and not any(p.startswith((".", "__MACOSX")) for p in parts)


class ImageFiles(Dataset):
    """The images `names` (relative paths) in `location`, a directory or a .zip archive."""

    def __init__(self, location: Path, names: list[str], transform: ImageTransform, skip_bad: bool = False):
        self.location = Path(location)
        self.names = names
        self.transform = transform
        self.skip_bad = skip_bad
        self.in_zip = self.location.suffix.lower() == ".zip"
        self._zip: zipfile.ZipFile | None = None
        self._zip_pid: int | None = None

    def __len__(self) -> int:
        return len(self.names)

    def path(self, index: int) -> str:
        """Where image `index` lives, as the user would look for it."""
        separator = ":" if self.in_zip else os.sep
        return f"{self.location}{separator}{self.names[index]}"

    def _archive(self) -> zipfile.ZipFile:
        # One handle per process: a handle inherited through fork shares its file offset.
        if self._zip is None or self._zip_pid != os.getpid():
            self._zip, self._zip_pid = zipfile.ZipFile(self.location), os.getpid()
        return self._zip

    @contextmanager
    def open(self, index: int) -> Iterator[Image.Image]:
        """The PIL image, lazily: only the header is read until its pixels are used."""
        name = self.names[index]
        if self.in_zip:
            with self._archive().open(name) as stream, Image.open(stream) as image:
                yield image
        else:
            with Image.open(self.location / name) as image:
                yield image

    def load(self, index: int) -> Tensor:
        with self.open(index) as image:
            return self.transform(image)

    def problem(self, index: int, decode: bool) -> str | None:
        """Why image `index` cannot be used, or None if it can."""
        try:
            if decode:
                self.load(index)
            else:
                with self.open(index) as image:
                    crop = self.transform.crop_size
                    if crop is not None and crop > min(image.size):
                        return f"{image.size[0]}x{image.size[1]} is smaller than crop_size {crop}"
        except Exception as error:  # PIL raises many types (OSError, SyntaxError, ValueError, ...)
            return f"{type(error).__name__}: {error}"
        return None

    def __getitem__(self, index: int) -> Tensor:
        for offset in range(len(self)):
            candidate = (index + offset) % len(self)
            try:
                return self.load(candidate)
            except Exception as error:
                message = f"cannot read image {self.path(candidate)} ({type(error).__name__}: {error})"
                if not self.skip_bad:
                    raise UnreadableDataError(
                        f"{message}; fix or remove it, or set data.bad_images=skip to train without it"
                    ) from error
                warnings.warn(f"{message}; using the next image instead", stacklevel=2)
        raise UnreadableDataError(f"no image in {self.location} can be read")

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_zip"] = state["_zip_pid"] = None  # open handles do not cross process boundaries
        return state


class ImageFilesDataModule(ArenaDataModule):
    """Serves `ImageFiles` of (channels, resolution, resolution) images; subclasses list them."""

    name = "images"

    def __init__(
        self,
        batch_size: int,
        batches_per_step: int = 1,
        resolution: int = 64,
        channels: int = 3,
        crop_size: int | None = None,
        bad_images: str = "error",
        scan: str = "header",
        num_workers: int | None = None,
        pin_memory: bool | None = None,
        persistent_workers: bool = True,
    ):
        super().__init__(batch_size, batches_per_step, num_workers, pin_memory, persistent_workers)
        if bad_images not in BAD_IMAGE_POLICIES:
            raise ConfigError(f"data.bad_images must be one of {', '.join(BAD_IMAGE_POLICIES)}, got {bad_images!r}")
        if scan not in SCANS:
            raise ConfigError(f"data.scan must be one of {', '.join(SCANS)}, got {scan!r}")
        self.transform = ImageTransform(resolution, channels, crop_size)
        self.bad_images = bad_images
        self.scan = scan
        self._files: dict[str, ImageFiles] = {}

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.transform.channels, self.transform.resolution, self.transform.resolution)

    def list_images(self, split: str) -> ImageFiles:
        """Every image of `split`, before the scan; raises DataNotFoundError if there are none."""
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        self.reference_dataset()  # list (and scan) the reference images now, not at the first evaluation
        super().setup(stage)

    def image_files(self, location: Path, names: list[str]) -> ImageFiles:
        return ImageFiles(location, names, self.transform, skip_bad=self.bad_images == "skip")

    def files(self, split: str) -> ImageFiles:
        if split not in self._files:
            files = self.list_images(split)
            if self.scan != "none":
                files = self._without_bad_images(files)
            self._files[split] = files
        return self._files[split]

    def _without_bad_images(self, files: ImageFiles) -> ImageFiles:
        decode = self.scan == "decode"
        with ThreadPoolExecutor(max_workers=min(32, 4 * (os.cpu_count() or 1))) as pool:
            problems = list(pool.map(lambda i: files.problem(i, decode), range(len(files))))
        bad = [(files.path(i), why) for i, why in enumerate(problems) if why is not None]
        if not bad:
            return files
        listing = "\n".join(f"  {path}: {why}" for path, why in bad[:20])
        more = f"\n  ... and {len(bad) - 20} more" if len(bad) > 20 else ""
        summary = f"{len(bad)} of {len(files)} images in {files.location} cannot be used:\n{listing}{more}"
        if self.bad_images == "error":
            raise UnreadableDataError(
                f"{summary}\nFix or remove them, or set data.bad_images=skip to train without them."
            )
        rank_zero_warn(f"{summary}\nThey are skipped (data.bad_images=skip).")
        good = [name for name, why in zip(files.names, problems, strict=True) if why is None]
        return self.image_files(files.location, good)
