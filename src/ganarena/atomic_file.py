"""Replace a file so that readers, and a crash at any moment, see the old file or the new one whole.

    with atomic_write(path) as file:      # binary; atomic_write(path, "w", newline="") for text
        torch.save(payload, file)

The content goes to a temporary file `.<name>.<random>.partial` beside the target, is synced to
disk, and replaces the target in one rename; on any error the temporary file is removed and the
target is left as it was. Checkpoints, the CSV history and the metrics cache are written so.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

PARTIAL_SUFFIX = ".partial"


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", newline: str | None = None) -> Iterator[IO]:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=PARTIAL_SUFFIX, dir=target.parent)
    try:
        with os.fdopen(handle, mode, newline=newline) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())  # on disk before the rename makes it visible, even across a power loss
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
