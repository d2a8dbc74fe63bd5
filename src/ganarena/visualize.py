"""Pictures of a generator's output: image grids and 2-D scatter plots, as PIL images.

A reconstruction map is a scatter plot with `links=True`: real[i] joined to fake[i] = G(E(real[i])).

Drawn with Pillow alone (it ships with torchvision), so no plotting library is needed.
"""

from __future__ import annotations

import math

import torch
from PIL import Image, ImageDraw
from torch import Tensor
from torchvision.utils import make_grid

REAL_COLOUR = (150, 150, 150)
FAKE_COLOUR = (214, 39, 40)
LINK_COLOUR = (240, 180, 180)


def image_grid(images: Tensor) -> Image.Image:
    """A square-ish grid of images in [-1, 1] (N, C, H, W)."""
    grid = make_grid(
        images.detach().float().cpu(),
        nrow=math.ceil(math.sqrt(len(images))),
        normalize=True,
        value_range=(-1, 1),
        pad_value=1.0,
    )
    array = grid.mul(255).round().clamp(0, 255).byte().permute(1, 2, 0).numpy()
    return Image.fromarray(array)


def scatter_plot(
    real: Tensor, fake: Tensor, size: int = 512, point_radius: float = 1.5, links: bool = False
) -> Image.Image:
    """Generated points (red) over real points (grey), framed on the real data.

    The frame is the real data's bounding box grown by 25 %, so a collapsed or diverging
    generator is visible at the border instead of shrinking the real data to a dot.
    """
    real, fake = real.detach().float().cpu(), fake.detach().float().cpu()
    low, high = real.min(0).values, real.max(0).values
    centre, half = (low + high) / 2, ((high - low).max() / 2 * 1.25).clamp_min(1e-3)
    margin = 12

    def to_pixels(points: Tensor) -> Tensor:
        unit = ((points - centre) / half).clamp(-1.02, 1.02)  # [-1, 1] inside the frame
        x = margin + (unit[:, 0] + 1) / 2 * (size - 2 * margin)
        y = margin + (1 - unit[:, 1]) / 2 * (size - 2 * margin)  # image rows grow downwards
        return torch.stack([x, y], 1)

    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    origin = to_pixels(torch.zeros(1, 2))[0].tolist()
    draw.line([(margin, origin[1]), (size - margin, origin[1])], fill=(225, 225, 225))
    draw.line([(origin[0], margin), (origin[0], size - margin)], fill=(225, 225, 225))
    if links:  # fake[i] is the reconstruction of real[i]
        for start, end in zip(to_pixels(real).tolist(), to_pixels(fake).tolist(), strict=True):
            draw.line([tuple(start), tuple(end)], fill=LINK_COLOUR)
    for points, colour in ((real, REAL_COLOUR), (fake, FAKE_COLOUR)):
        for x, y in to_pixels(points).tolist():
            draw.ellipse([x - point_radius, y - point_radius, x + point_radius, y + point_radius], fill=colour)
    draw.text((margin, 2), "real", fill=REAL_COLOUR)
    draw.text((margin + 40, 2), "reconstructed" if links else "generated", fill=FAKE_COLOUR)
    return image
