"""Differentiable augmentation of every critic input: DiffAugment, with a fixed or adaptive probability.

The GANModule passes every image the critic scores through `augment(x)`, real and fake, in
critic and generator updates alike; gradients flow through it to the generator.

    augment = DiffAugment(policy=["color", "translation", "cutout"])        # Zhao et al. 2020
    augment = AdaptiveDiffAugment(policy=[...], target=0.6, speed_images=50_000)   # ADA's heuristic
    scores = critic(augment(x))
    augment.observe(d_real)          # after each critic forward on real data (adaptive only)

`p` is the probability with which each operation is applied to each sample (DiffAugment: 1).
The adaptive variant moves `p` by sign(r_t - target) * images / speed_images every `interval`
observations, r_t = E[sign(D(x_real))] over that window (Karras et al. 2020). Its state
(`p` and the open window) is a set of buffers, so it lives in the checkpoint and a resumed run
continues exactly; the operations draw from torch's global generator, which the run saves too.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from ganarena.errors import ConfigError


def brightness(x: Tensor) -> Tensor:
    return x + (torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device) - 0.5)


def saturation(x: Tensor) -> Tensor:
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device) * 2) + mean


def contrast(x: Tensor) -> Tensor:
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * (torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device) + 0.5) + mean


def translation(x: Tensor, ratio: float = 0.125) -> Tensor:
    """Shift each image by up to `ratio` of its size in each direction, filling with zeros."""
    n, _, h, w = x.shape
    shift_h, shift_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-shift_h, shift_h + 1, size=(n, 1, 1), device=x.device)
    dx = torch.randint(-shift_w, shift_w + 1, size=(n, 1, 1), device=x.device)
    batch, rows, cols = torch.meshgrid(
        torch.arange(n, device=x.device),
        torch.arange(h, device=x.device),
        torch.arange(w, device=x.device),
        indexing="ij",
    )
    # Indices into the image padded by one zero pixel, as in the authors' code.
    rows = torch.clamp(rows + dy + 1, 0, h + 1)
    cols = torch.clamp(cols + dx + 1, 0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1])
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def cutout(x: Tensor, ratio: float = 0.5) -> Tensor:
    """Zero one square of `ratio` times the image size per image, centred anywhere in it."""
    n, _, h, w = x.shape
    size_h, size_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = torch.randint(0, h + (1 - size_h % 2), size=(n, 1, 1), device=x.device)
    left = torch.randint(0, w + (1 - size_w % 2), size=(n, 1, 1), device=x.device)
    batch, rows, cols = torch.meshgrid(
        torch.arange(n, device=x.device),
        torch.arange(size_h, device=x.device),
        torch.arange(size_w, device=x.device),
        indexing="ij",
    )
    rows = torch.clamp(rows + top - size_h // 2, 0, h - 1)
    cols = torch.clamp(cols + left - size_w // 2, 0, w - 1)
    mask = torch.ones(n, h, w, dtype=x.dtype, device=x.device)
    mask[batch, rows, cols] = 0
    return x * mask.unsqueeze(1)


# DiffAugment's policies, each a sequence of operations applied in this order.
POLICIES = {"color": (brightness, saturation, contrast), "translation": (translation,), "cutout": (cutout,)}


class NoAugment(nn.Module):
    """The identity: the critic sees the images as they are (`augment=none`)."""

    def forward(self, x: Tensor) -> Tensor:
        return x

    def observe(self, d_real: Tensor) -> None:
        pass

    def metrics(self) -> dict[str, Tensor]:
        return {}


class DiffAugment(NoAugment):
    """DiffAugment (Zhao et al. 2020): each policy's operations, each applied per sample with probability p."""

    def __init__(self, policy: list[str] | tuple[str, ...] = ("color", "translation", "cutout"), p: float = 1.0):
        super().__init__()
        unknown = [name for name in policy if name not in POLICIES]
        if unknown or not policy:
            raise ConfigError(
                f"augment.policy must list some of {sorted(POLICIES)}, got {list(policy)};"
                " use augment=none for no augmentation"
            )
        if not 0.0 <= p <= 1.0:
            raise ConfigError(f"augment.p is a probability in [0, 1], got {p}")
        self.operations = [op for name in policy for op in POLICIES[name]]
        self.register_buffer("p", torch.tensor(float(p), dtype=torch.float64))

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4:
            raise ConfigError(
                f"augmentation works on images (N, C, H, W), but the critic's input has shape {tuple(x.shape)};"
                " use augment=none with toy data"
            )
        p = float(self.p)
        for operation in self.operations:
            if p >= 1.0:
                x = operation(x)
            elif p > 0.0:
                applied = torch.rand(x.shape[0], 1, 1, 1, device=x.device) < p
                x = torch.where(applied, operation(x), x)
        return x

    def metrics(self) -> dict[str, Tensor]:
        return {"augment_p": self.p.detach().float()}


class AdaptiveDiffAugment(DiffAugment):
    """DiffAugment's operations at a probability p tuned by ADA's overfitting heuristic r_t (Karras et al. 2020)."""

    def __init__(
        self,
        policy: list[str] | tuple[str, ...] = ("color", "translation", "cutout"),
        target: float = 0.6,
        speed_images: int = 500_000,
        interval: int = 4,
        initial_p: float = 0.0,
    ):
        super().__init__(policy, initial_p)
        if not 0.0 < target < 1.0:
            raise ConfigError(f"augment.target is the wanted E[sign(D(real))], in (0, 1); got {target}")
        if speed_images <= 0 or interval < 1:
            raise ConfigError(
                f"augment.speed_images must be positive and augment.interval at least 1, got {speed_images}, {interval}"
            )
        self.target = target
        self.speed_images = speed_images
        self.interval = interval
        # The open window: sum of sign(D(real)), number of scores, number of observations.
        self.register_buffer("window", torch.zeros(3, dtype=torch.float64))

    @torch.no_grad()
    def observe(self, d_real: Tensor) -> None:
        signs = d_real.detach().sign().sum().to(self.window)
        self.window += torch.stack([signs, signs.new_tensor(d_real.numel()), signs.new_tensor(1.0)])
        if self.window[2] < self.interval:
            return
        window = self.window.clone()
        if dist.is_available() and dist.is_initialized():
            # Every rank moves p alike: the heuristic is measured over all ranks' real scores.
            dist.all_reduce(window)
        r_t = window[0] / window[1]
        step = torch.sign(r_t - self.target) * window[1] / self.speed_images
        self.p.copy_((self.p + step).clamp(0.0, 1.0))
        self.window.zero_()
