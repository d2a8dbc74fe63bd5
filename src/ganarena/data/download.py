"""Make sure a data set's files are on disk: fetch them with torchvision's own code, or explain.

    files = RequiredFiles("MNIST", root / "MNIST" / "raw", ("train-images-idx3-ubyte.gz", ...),
                          source="https://ossci-datasets.s3.amazonaws.com/mnist/")
    ensure_files(files, download=True, fetch=lambda: MNIST(root, download=True), timeout=20)

When files are missing and cannot be downloaded, `ensure_files` raises one DataNotFoundError
saying which files were expected where, why downloading did not happen, and how to get them.
Every socket opened during the download gives up after `timeout` seconds without progress, so a
machine without internet access fails in seconds instead of hanging on a dead connection.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ganarena.errors import DataNotFoundError


@dataclass(frozen=True)
class RequiredFiles:
    """Files a data set needs, relative to `folder`, and where they come from."""

    name: str
    folder: Path
    files: tuple[str, ...]
    source: str  # where they are downloaded from (for the message)
    # A file counts as present if this says so; MNIST accepts the .gz or the unpacked file.
    present: Callable[[Path], bool] = Path.exists

    def missing(self) -> list[str]:
        return [name for name in self.files if not self.present(self.folder / name)]


def ensure_files(files: RequiredFiles, download: bool, fetch: Callable[[], object], timeout: float = 20.0) -> None:
    """Return if every file is there; else download with `fetch()` (if allowed) and check again."""
    if not files.missing():
        return
    failure = None
    if download:
        try:
            with socket_timeout(timeout):
                fetch()
        except Exception as error:  # whatever went wrong ends up in the one message below
            failure = _one_line(f"{type(error).__name__}: {error}")
    missing = files.missing()
    if missing:
        raise DataNotFoundError(missing_message(files, missing, download, failure))


def missing_message(files: RequiredFiles, missing: list[str], download: bool, failure: str | None) -> str:
    if not download:
        attempt = "Downloading is off (data.download=false)."
    elif failure:
        attempt = f"Downloading from {files.source} failed ({failure})."
    else:
        attempt = f"The download from {files.source} did not produce them."
    return (
        f"{files.name} not found: expected {', '.join(missing)} in {files.folder}. {attempt}"
        f" To get them, run once with data.download=true on a machine that can reach {files.source}"
        f" (torchvision downloads them into that folder), or copy the files there yourself;"
        f" data.root=DIR looks for them under another directory."
    )


@contextmanager
def socket_timeout(seconds: float) -> Iterator[None]:
    """Bound every socket opened inside (connects and reads) to `seconds` without progress.

    torchvision opens its URLs without a timeout; the default timeout is the only handle on it.
    """
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _one_line(text: str, limit: int = 400) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."
