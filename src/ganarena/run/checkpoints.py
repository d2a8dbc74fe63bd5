"""Checkpoint files: written atomically, opened without running code, checked before use.

    trainer = Trainer(plugins=[AtomicCheckpointIO()])     # build_run does this
    checkpoint = read_checkpoint(path, expected_config)    # clear CheckpointError, or the dict

Every checkpoint is read with torch's `weights_only` unpickler: tensors, containers and plain
values come back, and a file that names any other type (a pickled callable, say) is refused
before anything in it runs. Lightning's own restore (`trainer.fit(ckpt_path=...)`) reads
through `AtomicCheckpointIO.load_checkpoint`, so it takes the same path. The stored config is
checked by stored_config.py before anything is built from it.

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
import re
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from ganarena.atomic_file import atomic_write
from ganarena.errors import CheckpointError
from ganarena.run.stored_config import with_current_targets

# Config sections that shape the networks and their optimizers: a checkpoint from a run that
# differs in one of them cannot continue in this run.
STATE_DEFINING_KEYS = ("model", "loss", "constraint", "regularizer", "augment", "optim", "latent_dim")

# Types a checkpoint may hold beyond torch's own weights_only set (tensors, dtypes, OrderedDict,
# containers, numbers, strings): none. Checkpoints of every preset, of a 2-process DDP run and
# with a best.ckpt need nothing more; keep on_save_checkpoint to plain types rather than add here.
CHECKPOINT_GLOBALS: tuple[Any, ...] = ()


class AtomicCheckpointIO(TorchCheckpointIO):
    """TorchCheckpointIO whose saves are a same-directory temp file, fsync, then rename."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        target = Path(path)
        try:
            with atomic_write(target) as file:
                torch.save(checkpoint, file)
        except OSError as error:
            raise _unwritable(target, error) from error

    def load_checkpoint(self, path, map_location: Any = "cpu", weights_only: bool | None = None) -> dict[str, Any]:
        """What Lightning's restore calls: always the safe unpickler, whatever `weights_only` asks."""
        return load_untrusted(path, map_location)


def load_untrusted(path: str | os.PathLike, map_location: Any = "cpu") -> Any:
    """torch.load that runs no code from the file, or CheckpointError naming the types it refused."""
    try:
        with torch.serialization.safe_globals(list(CHECKPOINT_GLOBALS)):
            return torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as error:
        refused = _refused_globals(path, error) if isinstance(error, pickle.UnpicklingError) else []
        if refused:
            raise CheckpointError(
                f"checkpoint {path} holds objects of type {', '.join(refused)}, which a ganarena checkpoint never"
                " contains: the file is not a ganarena checkpoint, or not one to trust. It was not opened and nothing"
                " in it ran; ask its author for an exported .safetensors file (src/export.py) instead"
            ) from None
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({error}); it is truncated or not a PyTorch checkpoint."
            " Use another checkpoint of the run, e.g. an earlier checkpoints/iter_*.ckpt"
        ) from error


def _refused_globals(path: str | os.PathLike, error: pickle.UnpicklingError) -> list[str]:
    """The types the file's pickle names outside the allow-list (read from its opcodes, nothing executed)."""
    try:
        with torch.serialization.safe_globals(list(CHECKPOINT_GLOBALS)):
            return sorted(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    except Exception:  # the legacy (non-zip) format: torch's message names the first refused type
        return sorted(set(re.findall(r"GLOBAL (\S+)", str(error))))


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
    checkpoint = load_untrusted(path)
    required = ("state_dict", "iteration", "config")
    missing = [key for key in required if key not in checkpoint] if isinstance(checkpoint, dict) else required
    if missing:
        raise CheckpointError(
            f"checkpoint {path} was not written by ganarena's training (it lacks {', '.join(missing)});"
            " pass a checkpoint from a run's checkpoints/ directory"
        )
    kinds = {"state_dict": Mapping, "iteration": int, "config": Mapping}
    malformed = [key for key, kind in kinds.items() if not isinstance(checkpoint[key], kind)]
    if malformed:
        raise CheckpointError(
            f"checkpoint {path} has a malformed {', '.join(malformed)}; it was not written by ganarena's training."
            " Pass a checkpoint from a run's checkpoints/ directory"
        )
    checkpoint["config"] = with_current_targets(checkpoint["config"])
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
        if key not in saved:
            # Written before the key existed (e.g. model.encoder): its networks, if any, would be
            # missing from the weights, which check_state_fits refuses by name.
            continue
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
