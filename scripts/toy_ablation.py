"""WGAN-GP on the 25-mode grid in plain PyTorch, one setting at a time: where high quality comes from.

    python scripts/toy_ablation.py                                  # the WGAN-GP authors' toy setting
    python scripts/toy_ablation.py --latent 128 --penalty 10        # two of the presets' settings
    python scripts/toy_ablation.py --scale 1 --penalty 10 --width 256 --batch 64 --latent 128 --critic layer_leaky

The defaults are the WGAN-GP authors' toy script (gan_toy.py): generator and critic of three
ReLU layers of 512 units, a 2-D latent, batch 256, penalty weight 0.1, Adam(1e-4, (0.5, 0.9)),
5 critic steps, and the grid divided by 2.828. The last command is ganarena's `wgan_gp` preset on
`grid25` (`--critic layer_leaky`: layer norm and LeakyReLU 0.2, as `model=mlp` builds the critic
under a gradient penalty). No Lightning and no ganarena code: an independent check of the
preset's numbers. Every `--every` iterations it prints the PacGAN measures on 2,500 samples
(high quality: within 3 std of the nearest mode; a mode is captured when a high-quality sample
has it as nearest mode), in the grid's own scale.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import Tensor, nn


def grid_means(scale: float) -> Tensor:
    return torch.tensor([[x, y] for x in range(-4, 5, 2) for y in range(-4, 5, 2)], dtype=torch.float) / scale


def mlp(inputs: int, outputs: int, width: int, block) -> nn.Sequential:
    layers: list[nn.Module] = []
    for size in (inputs, width, width):
        layers += [nn.Linear(size, width), *block(width)]
    return nn.Sequential(*layers, nn.Linear(width, outputs))


BLOCKS = {
    "relu": lambda width: [nn.ReLU()],
    "layer_leaky": lambda width: [nn.LayerNorm(width), nn.LeakyReLU(0.2)],
}


def pacgan_modes(fake: Tensor, means: Tensor, std: float) -> tuple[int, float]:
    """(modes captured, % high-quality samples)."""
    distance, nearest = torch.cdist(fake, means).min(dim=1)
    high_quality = distance < 3 * std
    return int(nearest[high_quality].unique().numel()), 100 * high_quality.float().mean().item()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=2.828, help="grid divided by this (1: PacGAN's grid)")
    parser.add_argument("--penalty", type=float, default=0.1, help="gradient penalty weight")
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--latent", type=int, default=2)
    parser.add_argument("--critic", choices=sorted(BLOCKS), default="relu")
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--n-critic", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--every", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    means, std = grid_means(args.scale).to(device), 0.05 / args.scale
    generator = mlp(args.latent, 2, args.width, BLOCKS["relu"]).to(device)
    critic = mlp(2, 1, args.width, BLOCKS[args.critic]).to(device)
    generator_opt = torch.optim.Adam(generator.parameters(), args.lr, betas=(0.5, 0.9))
    critic_opt = torch.optim.Adam(critic.parameters(), args.lr, betas=(0.5, 0.9))

    def real(n: int) -> Tensor:
        return means[torch.randint(len(means), (n,), device=device)] + std * torch.randn(n, 2, device=device)

    def noise(n: int) -> Tensor:
        return torch.randn(n, args.latent, device=device)

    started = time.perf_counter()
    for iteration in range(1, args.iterations + 1):
        for _ in range(args.n_critic):
            real_batch = real(args.batch)
            with torch.no_grad():
                fake_batch = generator(noise(args.batch))
            mix = torch.rand(args.batch, 1, device=device)
            between = (mix * real_batch + (1 - mix) * fake_batch).requires_grad_(True)
            (gradient,) = torch.autograd.grad(critic(between).sum(), between, create_graph=True)
            penalty = ((gradient.norm(dim=1) - 1) ** 2).mean()
            loss = critic(fake_batch).mean() - critic(real_batch).mean() + args.penalty * penalty
            critic_opt.zero_grad()
            loss.backward()
            critic_opt.step()
        generator_loss = -critic(generator(noise(args.batch))).mean()
        generator_opt.zero_grad()
        generator_loss.backward()
        generator_opt.step()
        if iteration % args.every == 0:
            with torch.no_grad():
                modes, high_quality = pacgan_modes(generator(noise(2500)), means, std)
            elapsed = time.perf_counter() - started
            print(
                f"iteration {iteration}: modes {modes}, high quality {high_quality:.1f} % ({elapsed:.0f} s)", flush=True
            )


if __name__ == "__main__":
    main()
