"""Any directory (searched recursively) or .zip archive of images: FFHQ, LSUN exports, your own.

    python src/train.py data=folder data.path=data/ffhq data.resolution=64
    python src/train.py data=folder data.path=data/bedrooms.zip data.crop_size=256

Files with an image suffix (png, jpg, jpeg, webp, bmp, gif, tif, tiff, ppm) are used in sorted
order of their relative paths; other files, hidden files and `__MACOSX/` entries are ignored.
Every image is converted to `channels` (1: grey, 3: RGB), center-cropped (`crop_size` pixels, or
the largest centred square) and resized to `resolution`. No labels. The reference set for FID is
the whole folder; its id hashes the folder's absolute path and file list, so statistics are
recomputed when the folder changes.
"""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from pathlib import Path

from ganarena.data.image_files import IMAGE_EXTENSIONS, ImageFiles, ImageFilesDataModule, is_image_name
from ganarena.errors import DataNotFoundError


class FolderDataModule(ImageFilesDataModule):
    def __init__(self, path: str, batch_size: int, batches_per_step: int = 1, **image_options):
        super().__init__(batch_size, batches_per_step, **image_options)
        self.path = Path(path)

    def prepare_data(self) -> None:
        self.files("all")  # lists (and scans) now, so a missing folder stops the run before training

    def list_images(self, split: str) -> ImageFiles:
        if self.path.is_dir():
            names = sorted(
                os.path.relpath(os.path.join(parent, file), self.path).replace(os.sep, "/")
                for parent, _dirs, files in os.walk(self.path, followlinks=True)
                for file in files
            )
        elif self.path.is_file() and zipfile.is_zipfile(self.path):
            with zipfile.ZipFile(self.path) as archive:
                names = sorted(info.filename for info in archive.infolist() if not info.is_dir())
        else:
            names = None
        images = [name for name in names or () if is_image_name(name)]
        if not images:
            found = "does not exist" if names is None else "holds no image files"
            if names is None and self.path.is_file():
                found = "is neither a directory nor a zip archive"
            raise DataNotFoundError(
                f"data=folder: {self.path} {found}; expected a directory (searched recursively) or a .zip"
                f" of images ({', '.join(e[1:] for e in IMAGE_EXTENSIONS)}). Point data.path at one, e.g."
                " data.path=data/ffhq"
            )
        return self.image_files(self.path, images)

    def train_dataset(self) -> ImageFiles:
        return self.files("all")

    @property
    def reference_id(self) -> str:
        files = self.files("all")
        digest = hashlib.sha1(str(self.path.resolve()).encode())
        digest.update("\n".join(files.names).encode())
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.path.stem) or "folder"
        return f"folder-{stem}-{digest.hexdigest()[:10]}-{self.transform.id}"
