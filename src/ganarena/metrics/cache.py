"""Files under the metrics cache directory (data/metrics_cache by default): safe to share.

    atomic_save({"features": features}, path)   # readers never see a half-written file
    payload = load_cached(path)                  # None when missing or unreadable (then recomputed)

Several runs, and eval.py, may compute the same file at once: each writes a temporary file
beside the target and renames it, which replaces the target in one step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.utilities import rank_zero_warn

from ganarena.atomic_file import atomic_write


def atomic_save(payload: dict[str, Any], path: Path) -> None:
    with atomic_write(path) as file:
        torch.save(payload, file)


def load_cached(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated or foreign: recompute rather than stop the run
        rank_zero_warn(f"metrics: ignoring unreadable cache file {path} ({error}); recomputing it")
        return None
