"""The real-vs-real floor of a Frechet distance: a data set's reference subset against the rest of it.

    python scripts/real_floor.py data=digits metrics.fid.num_real=898
    python scripts/real_floor.py data=digits metrics.fid.num_real=898 metrics/backbone=classifier
    python scripts/real_floor.py data=digits metrics.fid.num_real=898 trainer.accelerator=gpu --json floor.json

With `metrics.fid.num_real` smaller than the reference set, training runs compare their samples
with a fixed random subset of it (the same subset every run, see ganarena.metrics.real_stats).
This script feeds the images outside that subset through the same evaluation in place of
generated ones: the value a perfect generator would score at that protocol when it has as many
samples as there are images left over (FID is biased upward at small sample counts, so compare
runs with `metrics.fid.num_fake` equal to that number). The arguments are train.py's overrides.
"""

import argparse
import json
import sys
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from torch.utils.data import DataLoader, Subset

from ganarena.errors import ArenaError, ConfigError
from ganarena.metrics.frechet import FrechetEvaluation
from ganarena.metrics.real_stats import reference_order
from ganarena.run.build import build_evaluations
from ganarena.run.devices import device_for

CONF = Path(__file__).resolve().parents[1] / "conf"


def held_out_images(datamodule, num_real: int, batch_size: int) -> DataLoader:
    """The reference images that `real_features` leaves out when it draws `num_real` of them."""
    dataset = datamodule.reference_dataloader(batch_size).dataset
    available = len(dataset)
    if not 2 <= num_real <= available - 2:
        raise ConfigError(
            f"metrics.fid.num_real must leave at least 2 of the {available} reference images out, got {num_real}"
        )
    return DataLoader(Subset(dataset, reference_order(available)[num_real:].tolist()), batch_size=batch_size)


def real_floor(overrides: list[str]) -> dict:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=["metrics=fid", "metrics.fid.best_checkpoint=null", *overrides])
    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()
    datamodule.setup("fit")
    evaluation = next(e for e in build_evaluations(cfg, datamodule) if isinstance(e, FrechetEvaluation))
    if not evaluation.num_real:
        raise ConfigError("set metrics.fid.num_real below the reference set's size: the rest is the held-out half")
    device = device_for(cfg.trainer.accelerator)
    evaluation.prepare(datamodule, device)
    held_out = held_out_images(datamodule, evaluation.num_real, evaluation.batch_size)
    for batch in held_out:
        evaluation.update((batch[0] if isinstance(batch, list | tuple) else batch).to(device))
    values = evaluation.compute()
    return {"values": values, "num_held_out": len(held_out.dataset), "protocol": evaluation.protocol()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    options, overrides = parser.parse_known_args()
    try:
        report = real_floor(overrides)
    except ArenaError as error:
        raise SystemExit(f"error: {error}") from None
    for name, value in report["values"].items():
        print(f"{name:<14} {value:.6g}")
    print(f"held-out images: {report['num_held_out']}")
    print("protocol: " + ", ".join(f"{k}={v}" for k, v in report["protocol"].items()))
    if options.json:
        options.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
