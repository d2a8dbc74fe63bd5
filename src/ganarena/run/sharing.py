"""Exported generators: the file format for sharing a trained model, read without pickle.

    write_export("gen.safetensors", generator_state, config, iteration, ema_state)   # src/export.py
    export = read_export("gen.safetensors")   # Export(weights, config, iteration, ema_weights), or CheckpointError

One `.safetensors` file: raw tensors and a JSON header, so opening it cannot run code.
  tensors   `generator.<name>`: the generator's state_dict (weights and batch-norm buffers);
            `generator_ema.<name>`: the averaged generator's (ema=on), when the run kept one.
  metadata  `format`: "ganarena-generator", `format_version`: "1", `iteration`: the generator
            iteration it was exported at, `config`: the run's resolved config as JSON.
eval.py and sample.py take such a file as `ckpt_path=`; its config is checked like a checkpoint's.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ganarena.errors import CheckpointError

FORMAT, VERSION = "ganarena-generator", "1"
PREFIX, EMA_PREFIX = "generator.", "generator_ema."


@dataclass
class Export:
    weights: dict[str, torch.Tensor]  # the generator's state_dict, without the prefix
    config: dict[str, Any]
    iteration: int
    ema_weights: dict[str, torch.Tensor]  # the averaged generator's, without the prefix; empty if none


def write_export(
    path: str | os.PathLike,
    generator_state: dict[str, torch.Tensor],
    config: dict,
    iteration: int,
    ema_state: dict[str, torch.Tensor] | None = None,
):
    tensors = {PREFIX + name: tensor.detach().cpu().contiguous() for name, tensor in generator_state.items()}
    tensors |= {EMA_PREFIX + name: tensor.detach().cpu().contiguous() for name, tensor in (ema_state or {}).items()}
    metadata = {"format": FORMAT, "format_version": VERSION, "iteration": str(iteration), "config": json.dumps(config)}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=metadata)


def read_export(path: str | os.PathLike) -> Export:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"exported file {path} does not exist; check the path")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as file:
            metadata = file.metadata() or {}
            names = [name for name in file.keys() if name.startswith(PREFIX)]  # noqa: SIM118 (not a dict)
            weights = {name[len(PREFIX) :]: file.get_tensor(name) for name in names}
            averaged = [name for name in file.keys() if name.startswith(EMA_PREFIX)]  # noqa: SIM118
            ema_weights = {name[len(EMA_PREFIX) :]: file.get_tensor(name) for name in averaged}
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(
            f"{path} cannot be read as a .safetensors file ({error}); it is truncated or not an export"
        ) from error
    if metadata.get("format") != FORMAT or metadata.get("format_version") != VERSION:
        raise CheckpointError(
            f"{path} is not a ganarena export (format {metadata.get('format')!r},"
            f" version {metadata.get('format_version')!r}); write one with python src/export.py"
        )
    try:
        config, iteration = json.loads(metadata["config"]), int(metadata["iteration"])
    except (KeyError, ValueError) as error:
        raise CheckpointError(f"{path}: its config or iteration is missing or malformed ({error})") from error
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: its config is not a mapping; write the file again with python src/export.py")
    return Export(weights, config, iteration, ema_weights)
