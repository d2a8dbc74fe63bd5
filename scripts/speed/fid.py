"""The fid section of the speed benchmark: one FID/KID evaluation as training runs it, cold, warm and repeated.

    run_fid_section(args, results)   # results["fid"]: seconds of each kind, images/s of each side

`args` is benchmark_speed.py's parsed command line (fid_real, fid_fake, fid_rounds, fid_overrides, device).
"""

from __future__ import annotations

import statistics
import tempfile

import torch

from .runs import compose_run, fid_evaluation
from .timing import StopWatch


def build_fid_evaluation(args, cache_dir: str):
    """The `metrics=fid` evaluation of the default run, its generator and data module."""
    cfg = compose_run(
        [
            "metrics=fid",
            f"metrics.fid.num_real={args.fid_real}",
            f"metrics.fid.num_fake={args.fid_fake}",
            f"metrics.fid.cache_dir={cache_dir}",
            *args.fid_overrides,
        ],
        cache_dir,
        args.device,
    )
    return fid_evaluation(cfg, args.device)


def timed_evaluation(evaluation, generator, datamodule, device: torch.device) -> dict[str, float]:
    """Seconds of one `evaluation.run` ("total"), of what it prepares on its first call ("prepare",
    within it the backbone's loading or training, "backbone") and of FID and KID from the features
    ("compute")."""
    with StopWatch(device) as watch:
        watch.wrap(evaluation, "prepare", "prepare")
        watch.wrap(evaluation.backbone, "prepare", "backbone")
        watch.wrap(evaluation, "compute", "compute")
        watch.wrap(evaluation, "run", "total")
        evaluation.run(generator, datamodule, device)
    return watch.seconds


def run_fid_section(args, results: dict) -> None:
    runs: dict[str, list[dict[str, float]]] = {"cold": [], "warm": [], "repeat": []}
    for round_index in range(args.fid_rounds):
        with tempfile.TemporaryDirectory(prefix="benchmark_speed_fid_") as cache_dir:
            cold, generator, datamodule = build_fid_evaluation(args, cache_dir)
            runs["cold"].append(timed_evaluation(cold, generator, datamodule, args.device))
            warm, generator, datamodule = build_fid_evaluation(args, cache_dir)
            runs["warm"].append(timed_evaluation(warm, generator, datamodule, args.device))
            runs["repeat"].append(timed_evaluation(warm, generator, datamodule, args.device))
        print(
            f"  round {round_index + 1}/{args.fid_rounds}: "
            + ", ".join(f"{k} {v[-1]['total']:.2f} s" for k, v in runs.items()),
            flush=True,
        )
    protocol = warm.protocol()
    num_real, num_fake = protocol["num_real"], protocol["num_fake"]

    def median(kind: str, part: str) -> float:
        return statistics.median(run[part] for run in runs[kind])

    # The real side of a cold evaluation: reading, embedding and caching the real images.
    real_side = statistics.median(run["prepare"] - run["backbone"] for run in runs["cold"])
    results["fid"] = {
        "backbone": protocol.get("backbone"),
        "reference": protocol.get("reference"),
        "num_real": num_real,
        "num_fake": num_fake,
        "cold_s": median("cold", "total"),
        "warm_s": median("warm", "total"),
        "repeat_s": median("repeat", "total"),
        "ratio_cold_to_warm": median("cold", "total") / median("warm", "total"),
        "backbone_load_s": median("warm", "backbone"),
        "fid_kid_compute_s": median("repeat", "compute"),
        "real_side_s": real_side,
        "real_images_per_s": num_real / real_side,
        "fake_images_per_s": num_fake / median("repeat", "total"),
        "seconds": runs,
    }
