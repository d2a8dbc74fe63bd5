"""Checkpoint files: written atomically, checked before a run continues from one.

    trainer = Trainer(plugins=[AtomicCheckpointIO()])     # build_run does this
    checkpoint = read_checkpoint(path, expected_config)    # clear CheckpointError, or the dict

Lightning stages a checkpoint in the system temp directory and moves it into place; when that
directory is on another file system (local /tmp, run directory on NFS or Lustre) the move is a
copy, and a crash during the copy leaves a truncated `last.ckpt`. Here the file is written next
to its destination, synced, and renamed over it: the old checkpoint stays whole until the new
one is complete. A save that fails (disk full, permission denied) stops the run with a
CheckpointError naming the file and the cause.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from ganarena.errors import CheckpointError

# Config sections that shape the networks and their optimizers: a checkpoint from a run that
# differs in one of them cannot continue in this run.
STATE_DEFINING_KEYS = ("model", "loss", "constraint", "optim", "latent_dim")


class AtomicCheckpointIO(TorchCheckpointIO):
    """TorchCheckpointIO whose saves are a same-directory temp file, fsync, then rename."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        target = Path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
        except OSError as error:
            raise _unwritable(target, error) from error
        try:
            with os.fdopen(handle, "wb") as file:
                torch.save(checkpoint, file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp_name, target)
        except BaseException as error:
            Path(temp_name).unlink(missing_ok=True)
            if isinstance(error, OSError):
                raise _unwritable(target, error) from error
            raise


def _unwritable(target: Path, error: OSError) -> CheckpointError:
    # Disk full, permission denied, quota exceeded: the run stops, its last good checkpoint untouched.
    return CheckpointError(
        f"cannot write checkpoint {target} ({error.strerror or error}); the run stopped and every checkpoint"
        f" written before is unchanged. Free disk space or make {target.parent} writable, then continue"
        " the run with resume=RUN_DIR"
    )


def read_checkpoint(path: str | os.PathLike, expected_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Load a ganarena checkpoint on the CPU, or raise CheckpointError saying what is wrong with it.

    With `expected_config`, also refuse a checkpoint whose run had other networks, loss,
    constraints or optimizers (the keys in STATE_DEFINING_KEYS), naming the keys that differ.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; check the path (runs keep theirs in checkpoints/)")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError) as error:
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({error}); it is truncated or not a PyTorch checkpoint."
            " Use another checkpoint of the run, e.g. an earlier checkpoints/iter_*.ckpt"
        ) from error
    required = ("state_dict", "iteration", "config")
    missing = [key for key in required if key not in checkpoint] if isinstance(checkpoint, dict) else required
    if missing:
        raise CheckpointError(
            f"checkpoint {path} was not written by ganarena's training (it lacks {', '.join(missing)});"
            " pass a checkpoint from a run's checkpoints/ directory"
        )
    if expected_config is not None:
        differing = sorted(config_differences(checkpoint["config"], expected_config, STATE_DEFINING_KEYS))
        if differing:
            raise CheckpointError(
                f"checkpoint {path} comes from a run with another {', '.join(differing)} than this one;"
                " continue it with the same settings (its own config is in the checkpoint, and in"
                " .hydra/config.yaml of its run directory)"
            )
    return checkpoint


def config_differences(saved: dict[str, Any], current: dict[str, Any], keys: Iterable[str]) -> list[str]:
    """Dotted names of the entries under `keys` whose values differ between two configs."""
    differing = []
    for key in keys:
        a, b = saved.get(key), current.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            differing += [f"{key}.{sub}" for sub in config_differences(a, b, a.keys() | b.keys())]
        elif a != b:
            differing.append(key)
    return differing


def check_state_fits(checkpoint: dict[str, Any], module: torch.nn.Module, path: str | os.PathLike) -> None:
    """Raise CheckpointError when the checkpoint's weights do not fit `module` (other data shape, say)."""
    expected = module.state_dict()
    saved = checkpoint["state_dict"]
    misfits = [
        f"{name} {tuple(saved[name].shape)} vs {tuple(expected[name].shape)}"
        for name in expected.keys() & saved.keys()
        if saved[name].shape != expected[name].shape
    ]
    absent = sorted(expected.keys() ^ saved.keys())
    if misfits or absent:
        details = "; ".join(sorted(misfits)[:3] + [f"{name} only on one side" for name in absent[:3]])
        raise CheckpointError(
            f"checkpoint {path} holds networks of another shape than this run builds ({details});"
            " continue it with the data set and model settings it was trained with"
        )
