"""Normalisation layers selectable by name, shared by the architectures."""

from __future__ import annotations

from torch import nn

from ganarena.errors import ConfigError

CRITIC_NORMS = ("batch", "layer", "none")


def feature_norm(kind: str, channels: int, spatial: bool) -> nn.Module:
    """A normalisation over `channels` features; `spatial` for conv feature maps (N, C, H, W).

    "layer" normalises each sample over all its features (GroupNorm with one group for feature
    maps), which keeps critic scores per-sample, as a gradient penalty requires.
    """
    if kind == "batch":
        return nn.BatchNorm2d(channels) if spatial else nn.BatchNorm1d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels) if spatial else nn.LayerNorm(channels)
    if kind == "none":
        return nn.Identity()
    raise ConfigError(f"unknown normalisation {kind!r}; choose one of {', '.join(CRITIC_NORMS)}")
