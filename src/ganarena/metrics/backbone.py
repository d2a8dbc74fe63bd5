"""What a feature backbone for FID / KID is: images in [-1, 1] -> (N, num_features) features.

    backbone = InceptionV3()                  # or ClassifierFeatures(...), or your own subclass
    backbone.check()                          # before training: ConfigError if it cannot work
    backbone.prepare(datamodule, cache_dir)   # load weights / train on the data (cached)
    features = backbone(images)               # quantised to 8 bits first, like stored images

Every image, real or generated, is quantised to the 256 levels of an 8-bit image before it is
embedded: real data sets are stored as 8-bit images and generated ones are saved that way, so
the standard FID protocol compares the two on the same footing.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn


def quantize(images: Tensor) -> Tensor:
    """Images in [-1, 1] -> float tensor of the integer levels 0..255 (what `x_uint8` would hold)."""
    return images.float().clamp(-1, 1).add(1).mul(127.5).round()


def from_levels(levels: Tensor) -> Tensor:
    """Levels 0..255 -> [-1, 1]: `from_levels(quantize(x))` is x as an 8-bit image file gives it back."""
    return levels / 127.5 - 1


class Backbone(nn.Module):
    """Base class. Subclasses set `num_features` (after `prepare` at the latest) and implement `embed`.

    `fid_name` / `kid_name` are the logged metric names: only the standard Inception network may
    call its distances FID and KID; other backbones name theirs so nobody mistakes them for it.
    """

    num_features: int
    fid_name: str = "fid"
    kid_name: str = "kid"

    @property
    def id(self) -> str:
        """Names the network and its weights exactly: part of cache keys and of the logged protocol."""
        raise NotImplementedError

    def describe(self) -> dict[str, str | int | float]:
        """The protocol details worth logging beside the values (input pipeline, accuracy, ...)."""
        return {"backbone": self.id}

    def incompatibility(self, shape: tuple[int, ...], datamodule) -> str | None:
        """Why this backbone cannot embed these data, or None."""
        if len(shape) != 3:
            return f"FID and KID need image data (C, H, W), but the data have shape {tuple(shape)}"
        return None

    def check(self) -> None:
        """Raise ConfigError now (before training) for problems that would stop the first evaluation."""

    def prepare(self, datamodule, cache_dir: Path) -> None:
        """Load or build what `embed` needs; called once before the first evaluation."""

    def embed(self, levels: Tensor) -> Tensor:
        """Float images of 8-bit levels 0..255 (N, C, H, W) -> features (N, num_features)."""
        raise NotImplementedError

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        return self.embed(quantize(images))
