"""Which torch device a Trainer-style `accelerator` setting means: one answer for training's
config budgets, eval.py and sample.py.

    device_for("auto")   # cuda when there is a GPU, else mps when there is one, else cpu
    device_for("gpu")    # cuda;  device_for("cpu") -> cpu;  any other torch device name as is
"""

from __future__ import annotations

import torch


def device_for(accelerator: str) -> torch.device:
    name = str(accelerator).lower()
    if name == "auto":
        mps = getattr(torch.backends, "mps", None)
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if mps is not None and mps.is_available() else "cpu")
    return torch.device("cuda" if name == "gpu" else name)


def gpu_or_cpu(accelerator, on_gpu, on_cpu):
    """`on_cpu` when `accelerator` means the CPU, else `on_gpu` (the `gpu_or_cpu` config resolver)."""
    return on_cpu if device_for(accelerator).type == "cpu" else on_gpu
