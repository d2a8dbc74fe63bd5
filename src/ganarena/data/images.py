"""Image preprocessing shared by every image DataModule: 8-bit -> [-1, 1], padding, crop + resize.

Used as:

    uint8_to_signed(images)                 # uint8 tensor -> float in [-1, 1], 0 -> -1, 255 -> 1
    pad_to(images, 32)                      # uint8 (N, C, 28, 28) -> (N, C, 32, 32), background 0
    ImageTransform(64, channels=3, crop_size=108)(pil_image)   # -> float (3, 64, 64) in [-1, 1]
"""

from __future__ import annotations

import torch.nn.functional as F
from PIL import Image
from torch import Tensor
from torchvision.transforms.v2 import functional as TF

from ganarena.errors import ConfigError

PIL_MODES = {1: "L", 3: "RGB"}


def uint8_to_signed(images: Tensor) -> Tensor:
    """8-bit pixel values to floats in [-1, 1]; exact at both ends."""
    return images.float() / 127.5 - 1.0


def pad_to(images: Tensor, size: int) -> Tensor:
    """Pad square images (..., H, H) evenly with zeros (black background) to (..., size, size)."""
    border = size - images.shape[-1]
    if border < 0 or border % 2:
        raise ValueError(f"cannot pad {images.shape[-1]}-pixel images evenly to {size}")
    return F.pad(images, [border // 2] * 4, value=0)


class ImageTransform:
    """A decoded PIL image -> float tensor (channels, resolution, resolution) in [-1, 1].

    The image is converted to grey (1 channel) or RGB (3), center-cropped to a square of
    `crop_size` pixels (None: the largest centred square, so nothing is stretched), then resized
    with antialiased bilinear interpolation, as torchvision's Resize does.
    """

    def __init__(self, resolution: int, channels: int = 3, crop_size: int | None = None):
        check_image_options(resolution, channels, crop_size)
        self.resolution = resolution
        self.channels = channels
        self.crop_size = crop_size

    def __call__(self, image: Image.Image) -> Tensor:
        image = image.convert(PIL_MODES[self.channels])
        crop = self.crop_size or min(image.size)
        if crop > min(image.size):
            # torchvision would pad the missing border with black; say so instead.
            raise ValueError(f"crop_size {crop} is larger than the {image.size[0]}x{image.size[1]} image")
        image = TF.center_crop(image, [crop, crop])
        image = TF.resize(image, [self.resolution, self.resolution], antialias=True)
        return uint8_to_signed(TF.pil_to_tensor(image))

    @property
    def id(self) -> str:
        """File-name-safe summary, part of a reference set's id."""
        crop = "square" if self.crop_size is None else str(self.crop_size)
        return f"crop{crop}-{self.channels}x{self.resolution}x{self.resolution}"


def check_image_options(resolution: int, channels: int, crop_size: int | None) -> None:
    if channels not in PIL_MODES:
        raise ConfigError(f"data.channels must be 1 (grey) or 3 (RGB), got {channels}")
    if resolution < 4:
        raise ConfigError(f"data.resolution must be at least 4 pixels, got {resolution}")
    if crop_size is not None and crop_size < 1:
        raise ConfigError(f"data.crop_size must be a positive number of pixels or null, got {crop_size}")
