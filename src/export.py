"""Export a checkpoint's generator for sharing: one .safetensors file that runs no code when opened.

    python src/export.py ckpt_path=logs/runs/<run>/checkpoints/last.ckpt output=gen.safetensors
    python src/sample.py ckpt_path=gen.safetensors num_samples=64 output=grid.png
    python src/eval.py ckpt_path=gen.safetensors

The file holds the generator's weights and buffers (and the averaged generator's, under ema=on)
and the run's resolved config as JSON in the safetensors metadata (format: ganarena/sharing.py);
the critic and the optimizer states stay behind, so it cannot continue training. Its samples
equal the checkpoint's for the same seed.
"""

import sys
from pathlib import Path

from omegaconf import OmegaConf

from ganarena.errors import CheckpointError, ConfigError, exit_on_user_error
from ganarena.run.checkpoints import read_checkpoint
from ganarena.run.sharing import write_export
from ganarena.run.stored_config import checked_config
from ganarena.run.trained import EXPORT_SUFFIX

DEFAULTS = {"ckpt_path": None, "output": None}
GENERATOR = "generator."  # GANModule.generator's entries in the module's state_dict
AVERAGE = "generator_ema."  # GANModule.generator_ema's (ema=on)


def parse(argv: list[str]) -> dict:
    given = OmegaConf.to_container(OmegaConf.from_dotlist(argv))
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"export.py takes ckpt_path= and output=, not {', '.join(unknown)}")
    args = {**DEFAULTS, **given}
    if not args["ckpt_path"] or not args["output"]:
        raise ConfigError("usage: python src/export.py ckpt_path=PATH output=FILE.safetensors")
    if Path(args["output"]).suffix != EXPORT_SUFFIX:
        raise ConfigError(f"output={args['output']}: the file name must end in {EXPORT_SUFFIX}")
    return args


def export(args: dict) -> Path:
    path, output = Path(args["ckpt_path"]), Path(args["output"])
    checkpoint = read_checkpoint(path)
    # A shared file should hold only what a ganarena run can build: check before passing it on. The
    # metrics may name the user's own class (eval.py takes an override for it; its readers check).
    checked_config(checkpoint["config"], path, ignored=("metrics",))
    config = checkpoint["config"]
    state = {k[len(GENERATOR) :]: v for k, v in checkpoint["state_dict"].items() if k.startswith(GENERATOR)}
    if not state:
        raise CheckpointError(
            f"checkpoint {path} holds no generator weights (no {GENERATOR}* entries in its state_dict)"
        )
    ema = {k[len(AVERAGE) :]: v for k, v in checkpoint["state_dict"].items() if k.startswith(AVERAGE)}
    write_export(output, state, config, checkpoint["iteration"], ema)
    kept = " and its averaged generator (used by eval.py and sample.py)" if ema else ""
    print(f"generator of {path} (iteration {checkpoint['iteration']}){kept} exported to {output}")
    return output


def main() -> None:
    with exit_on_user_error():
        export(parse(sys.argv[1:]))


if __name__ == "__main__":
    main()
