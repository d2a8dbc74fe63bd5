"""channels_last (NHWC) memory format for the convolutional networks: a GPU speed option.

    use_channels_last(critic)   # its 4-D weights, and every 4-D tensor it is called on, in NHWC order

Tensor cores run convolutions in NHWC; with NCHW tensors cuDNN transposes around every layer.
The values are those of the NCHW network up to the order of floating-point sums. On a CPU the
effect depends on its kernels (docs/results.md). A network without 4-D weights is left as it is.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def use_channels_last(network: nn.Module) -> nn.Module:
    """Convert `network` in place: weights now, image inputs (real batches, fakes, penalty points) at each call."""
    network.to(memory_format=torch.channels_last)
    network.register_forward_pre_hook(_inputs_channels_last)
    return network


def _inputs_channels_last(module: nn.Module, args: tuple) -> tuple:
    return tuple(
        a.contiguous(memory_format=torch.channels_last) if isinstance(a, Tensor) and a.dim() == 4 else a for a in args
    )
