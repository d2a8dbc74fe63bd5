"""Generator iterations per second of one preset under each precision and memory format.

    python scripts/benchmark_precision.py --threads 1 --preset "experiment=dcgan"     # CPU
    python scripts/benchmark_precision.py --device cuda --preset "experiment=dcgan data=cifar10"

Each variant adds overrides to the preset: fp32 NCHW (the reference), `trainer.precision=bf16-mixed`,
`channels_last=true`, both; with --device cuda also `trainer.precision=16-mixed`. Every run is
trained by lightning.Trainer as src/train.py builds it (scripts/speed/runs.py: CSV logger, no
evaluations), timed over the same window of whole iterations. Rounds alternate the variants
(every other round backwards); medians are reported, and each variant's ratio to fp32 within
each round (steadier than the medians on a shared machine).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import warnings
from pathlib import Path

import torch

# The speed benchmark's package scripts/speed/ sits beside this file.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed.report import environment
from speed.runs import lightning_seconds, preset_overrides
from speed.timing import in_round_order, median_rate

VARIANTS = {
    "fp32": [],
    "bf16-mixed": ["trainer.precision=bf16-mixed"],
    "channels_last": ["channels_last=true"],
    "bf16-mixed + channels_last": ["trainer.precision=bf16-mixed", "channels_last=true"],
}
CUDA_VARIANTS = {"16-mixed": ["trainer.precision=16-mixed"]}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--preset", default="experiment=dcgan")
    parser.add_argument("--iterations", type=int, help="timed generator iterations per round (cpu 8, cuda 200)")
    parser.add_argument("--warmup", type=int, help="untimed iterations before each window (cpu 2, cuda 20)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    args = parser.parse_args(argv)
    args.device = torch.device(args.device)
    args.iterations = args.iterations or (200 if args.device.type == "cuda" else 8)
    args.warmup = args.warmup or (20 if args.device.type == "cuda" else 2)
    args.no_progress_bar = True
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    variants = {**VARIANTS, **(CUDA_VARIANTS if args.device.type == "cuda" else {})}
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for round_index in range(args.rounds):
        for name in in_round_order(list(variants), round_index):
            overrides = [*preset_overrides(args.preset), *variants[name]]
            seconds[name].append(lightning_seconds(overrides, args, args.iterations))
        print(
            f"  round {round_index + 1}/{args.rounds}: " + ", ".join(f"{n} {s[-1]:.2f} s" for n, s in seconds.items())
        )
    results = {"environment": environment(args), "preset": args.preset, "iterations": args.iterations, "variants": {}}
    print(f"\n  {args.preset}, {args.iterations} iterations after {args.warmup}, median of {args.rounds} rounds")
    for name, values in seconds.items():
        paired = [reference / own for reference, own in zip(seconds["fp32"], values, strict=True)]
        rate = median_rate(values, args.iterations)
        results["variants"][name] = {"it_per_s": rate, "seconds": values, "speedup_over_fp32_per_round": paired}
        print(
            f"  {name:28s} {rate:7.3f} it/s   x{statistics.median(paired):.2f} of fp32 (rounds: "
            + ", ".join(f"{p:.2f}" for p in paired)
            + ")"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
