"""Files under the metrics cache directory (data/metrics_cache by default): safe to share.

    atomic_save({"features": features}, path)   # readers never see a half-written file
    payload = load_cached(path)                  # None when missing or unreadable (then recomputed)

Several runs, and eval.py, may compute the same file at once: each writes a temporary file
beside the target and renames it, which replaces the target in one step.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.utilities import rank_zero_warn


def atomic_save(payload: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(payload, file)
            file.flush()
            os.fsync(file.fileno())  # on disk before the rename makes it visible, even across a power loss
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def load_cached(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated or foreign: recompute rather than stop the run
        rank_zero_warn(f"metrics: ignoring unreadable cache file {path} ({error}); recomputing it")
        return None
