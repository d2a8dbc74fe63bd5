"""Write samples of a checkpoint's or an exported generator: raw values (.npy) or a picture (.png).

    python src/sample.py ckpt_path=logs/runs/<run>/checkpoints/last.ckpt num_samples=64 output=grid.png
    python src/sample.py ckpt_path=gen.safetensors num_samples=64 output=grid.png   # from src/export.py
    python src/sample.py ckpt_path=PATH num_samples=10000 output=samples.npy seed=1

A run that kept an averaged generator (ema=on) is sampled from that average, and the message says so.
`.npy`: a float32 array of shape (num_samples, ...) as the generator gives it: images (N, C, H, W)
in [-1, 1], or 2-D points (N, 2). `.png`: a grid of the images, or for 2-D data the points (red)
over as many real points (grey). The noise comes from `seed` (default 0) and is drawn in batches
of `batch_size` (500), the generator in eval mode; `accelerator` as in eval.py (auto).
"""

import sys
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf

from ganarena.errors import ConfigError, exit_on_user_error
from ganarena.game.noise import seeded_noise
from ganarena.run.devices import device_for
from ganarena.run.trained import load_trained
from ganarena.visualize import image_grid, scatter_plot

DEFAULTS = {"ckpt_path": None, "num_samples": 64, "output": None, "seed": 0, "batch_size": 500, "accelerator": "auto"}
WRITERS = (".npy", ".png")


def parse(argv: list[str]) -> dict:
    given = OmegaConf.to_container(OmegaConf.from_dotlist(argv))
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"sample.py takes {', '.join(k + '=' for k in DEFAULTS)} not {', '.join(unknown)}")
    args = {**DEFAULTS, **given}
    if not args["ckpt_path"] or not args["output"]:
        raise ConfigError("usage: python src/sample.py ckpt_path=PATH num_samples=N output=FILE.npy|FILE.png")
    if Path(args["output"]).suffix.lower() not in WRITERS:
        raise ConfigError(f"output={args['output']}: the file name must end in .npy (raw values) or .png (picture)")
    if not isinstance(args["num_samples"], int) or args["num_samples"] < 1:
        raise ConfigError(f"num_samples must be a positive integer, got {args['num_samples']!r}")
    return args


@torch.no_grad()
def generate(generator: torch.nn.Module, num_samples: int, seed: int, batch_size: int, device) -> torch.Tensor:
    noise = seeded_noise(num_samples, generator.latent_dim, seed)
    generator = generator.to(device).eval()
    return torch.cat([generator(z.to(device)).float().cpu() for z in noise.split(batch_size)])


def write(args: dict) -> Path:
    run = load_trained(args["ckpt_path"], ignored=("metrics",))  # sampling evaluates nothing
    device = device_for(args["accelerator"])
    samples = generate(run.generator, args["num_samples"], args["seed"], args["batch_size"], device)
    output = Path(args["output"])
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix.lower() == ".npy":
        np.save(output, samples.numpy())
    elif samples.dim() == 2:
        scatter_plot(run.datamodule.real_samples(len(samples), args["seed"]), samples).save(output)
    else:
        image_grid(samples).save(output)
    kind = ", averaged generator (ema)" if run.averaged else ""
    print(f"{len(samples)} samples of {run.path} (iteration {run.iteration}{kind}) written to {output}")
    return output


def main() -> None:
    with exit_on_user_error():
        write(parse(sys.argv[1:]))


if __name__ == "__main__":
    main()
