"""The data section of the speed benchmark: images/s the training DataLoader delivers against what training uses.

    run_data_section(args, results)   # results["data"][preset]: loader, loader + copy, training images/s

Training's rate comes from the lightning section's rounds when it ran first, else is measured here.
`args` is benchmark_speed.py's parsed command line (presets, rounds, iterations, warmup, data_batches, device).
"""

from __future__ import annotations

import statistics
import tempfile
import time

import lightning as L
from hydra.utils import instantiate

from .plain_loop import endless_batches
from .runs import compose_run, lightning_seconds, preset_overrides
from .timing import synchronize


def loader_seconds(overrides: list[str], args, to_device: bool) -> tuple[float, int]:
    """Seconds to draw --data-batches training batches after warm-up, and images per batch."""
    with tempfile.TemporaryDirectory(prefix="benchmark_speed_") as output_dir:
        cfg = compose_run(overrides, output_dir, args.device)
        L.seed_everything(cfg.seed, workers=True)
        datamodule = instantiate(cfg.data)
        datamodule.setup("fit")
        batches = endless_batches(datamodule.train_dataloader())
        for _ in range(args.warmup):
            next(batches)
        synchronize(args.device)
        started = time.perf_counter()
        for _ in range(args.data_batches):
            batch = next(batches)
            if to_device:
                batch = batch.to(args.device, non_blocking=True)
        synchronize(args.device)
        return time.perf_counter() - started, batch.shape[0]


def run_data_section(args, results: dict) -> None:
    section = results.setdefault("data", {})
    for preset in args.presets:
        overrides = preset_overrides(preset)
        alone, with_copy, training = [], [], []
        trained = results.get("lightning", {}).get(preset)
        for _ in range(args.rounds):
            seconds, images_per_batch = loader_seconds(overrides, args, to_device=False)
            alone.append(images_per_batch * args.data_batches / seconds)
            seconds, _ = loader_seconds(overrides, args, to_device=True)
            with_copy.append(images_per_batch * args.data_batches / seconds)
            if trained is None:
                seconds = lightning_seconds(overrides, args, args.iterations)
                training.append(images_per_batch * args.iterations / seconds)
        if trained is not None:
            training = [images_per_batch * args.iterations / s for s in trained["lightning_seconds"]]
        training_rate = statistics.median(training)
        section[preset] = {
            "images_per_generator_iteration": images_per_batch,
            "loader_images_per_s": statistics.median(alone),
            "loader_and_copy_images_per_s": statistics.median(with_copy),
            "training_images_per_s": training_rate,
            "ratio_loader_to_training": statistics.median(with_copy) / training_rate,
            "loader_runs": alone,
            "loader_and_copy_runs": with_copy,
        }
        print(f"  {preset}: done", flush=True)
