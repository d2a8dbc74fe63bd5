"""Speed figures of ganarena: Lightning overhead, constraint cost, FID evaluation cost, data loading.

This file is the command line; each section lives in the sibling package scripts/speed/.

    python scripts/benchmark_speed.py                                  # CPU, every section
    python scripts/benchmark_speed.py --device cuda --json speed.json  # GPU, 10k/10k FID
    python scripts/benchmark_speed.py --sections lightning profile --presets experiment=gan_qp
    python scripts/benchmark_speed.py --presets experiment=gan_qp "experiment=wgan_gp model.critic.width=32"

Every run is built from the real Hydra config (conf/train.yaml, as src/train.py composes it),
with the CSV logger only (no W&B) and no evaluations (metrics=none: FID has its own section).
The sample-grid and checkpoint callbacks keep their per-iteration checks but are scheduled
beyond the run, so no picture or checkpoint is written (a normal run writes one every few
hundred iterations). Kept as in a normal run: the preemption callback, the per-iteration
reduction and non-finite check of the TrainingMonitor with the losses logged every
`log_every_n_steps`, and the progress bar (rendered into /dev/null: its formatting is timed, a
terminal's drawing is not; --no-progress-bar drops it).
A preset is a list of config overrides in one string ("experiment=wgan_gp data=mnist").

Sections (--sections; all by default):

lightning   Generator iterations per second of GANModule under `lightning.Trainer`, eager and
            with compile=true (unless --no-compile; its warm-up is the time its first --warmup
            iterations take beyond the eager run's), against
            `PlainLoop` (speed/plain_loop.py), the module's own `critic_objective` and
            `generator_objective` with plain backward and optimiser steps, in the same process:
            the same construction from the same seed (so identical initial weights), the same
            loss and constraint objects, optimiser factories, n_critic, batch and data loader
            (same batches in the same order), and the same update order. A timed window starts
            once iteration --warmup has its batch on the device and ends when iteration
            --warmup + --iterations has its batch: it holds whole iterations, data fetching and
            host-to-device copies included. The plain loop logs nothing and checks nothing, so
            the ratio lightning / plain is everything the Trainer and the module add. Before
            timing, `equivalence_report` (speed/equivalence.py) proves for each preset that both
            do the same work; where the two differ, it also reports how far gradients that differ
            by float32 rounding alone drift apart (`RoundingNoisePlainLoop`), for scale. The compiled
            module is checked the same way; its kernels sum in another order, so it is equal only
            within that rounding yardstick (printed beside its difference).
profile     Where Lightning's extra time goes, for --profile-presets: the same window with
            Lightning's update path instead of the direct one (run/direct_updates.py), with the
            progress bar off, then also logging off, then also the per-iteration reduction and
            non-finite check off; and the plain loop with that check (`FiniteGuard`) added, as the
            TrainingMonitor runs it and with the host waiting for its result every iteration.
constraints Seconds per generator iteration (Lightning, as above) with each of --constraints on
            the same loss, n_critic and network (--constraint-base; the critic normalisation is
            pinned so that every constraint trains the same critic), as ratios to the first.
fid         One FID/KID evaluation as training runs it (the `metrics=fid` callback's `run`):
            cold (empty temporary cache: loads the backbone, embeds --fid-real real images,
            generates and embeds --fid-fake images, computes FID and KID), warm (a new evaluation
            whose real features are cached) and repeat (the warm evaluation again: what every
            later evaluation of a run costs). Real images/s: the real images over the cold
            evaluation's real side (its preparation less the backbone's loading); fake images/s:
            the generated images over a repeat, FID and KID computation included.
data        Images per second the training DataLoader of the data module delivers (the one
            Lightning iterates), alone and with the copy to the device, against images per
            second training consumes (batch_size * n_critic per generator iteration, at the
            Lightning rates of the lightning section, or measured here when it did not run).

Rounds alternate the measured variants (--rounds times, every other round in reverse order) and
medians are reported; on a CPU shared with other work, differences of a few per cent are within
the spread of the rounds. CUDA is synchronised before every clock reading. --clock cpu times
with this process's CPU time instead of the wall clock: with --threads 1 on a CPU that other
work shares, it leaves out the time the run waited for a core (not the slower caches). --json writes every
figure, each round included.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import torch

# The sections live in the sibling package scripts/speed/; Python puts this directory on sys.path
# only when the file runs as a script, not when it is loaded by path (the tests do).
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed.constraints import run_constraints_section
from speed.data import run_data_section
from speed.fid import run_fid_section
from speed.overhead import run_lightning_section, run_profile_section
from speed.report import environment, print_summary
from speed.timing import use_clock

SECTIONS = {
    "lightning": run_lightning_section,
    "profile": run_profile_section,
    "constraints": run_constraints_section,
    "fid": run_fid_section,
    "data": run_data_section,
}
DEFAULTS = {
    "cpu": {"iterations": 8, "warmup": 2, "fid_real": 64, "fid_fake": 32},
    "cuda": {"iterations": 200, "warmup": 20, "fid_real": 10_000, "fid_fake": 10_000},
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--iterations", type=int, help="timed generator iterations per round (cpu 8, cuda 200)")
    parser.add_argument("--warmup", type=int, help="untimed iterations before each window (cpu 2, cuda 20)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--presets", nargs="+", default=["experiment=gan_qp", "experiment=wgan_gp"])
    parser.add_argument("--profile-presets", nargs="+", help="presets of the profile section (the first preset)")
    parser.add_argument("--no-progress-bar", action="store_true", help="time Lightning without its progress bar")
    parser.add_argument("--no-compile", action="store_true", help="lightning section: no compile=true runs")
    parser.add_argument("--constraints", nargs="+", default=["none", "clip", "gp", "sn"])
    parser.add_argument(
        "--constraint-base", nargs="+", default=["loss=wgan", "n_critic=5", "batch_size=64", "model.critic.norm=layer"]
    )
    parser.add_argument("--fid-real", type=int, help="real images of the FID reference (cpu 64, cuda 10000)")
    parser.add_argument("--fid-fake", type=int, help="generated images per FID evaluation (cpu 32, cuda 10000)")
    parser.add_argument("--fid-rounds", type=int, default=1)
    parser.add_argument("--fid-overrides", nargs="*", default=[], help="e.g. metrics/backbone=classifier")
    parser.add_argument("--data-batches", type=int, default=200, help="training batches per data-loader round")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument(
        "--clock", choices=["wall", "cpu"], default="wall", help="cpu: process CPU time, for one thread on a shared CPU"
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    args = parser.parse_args(argv)
    args.device = torch.device(args.device)
    for name, value in DEFAULTS[args.device.type].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def quiet_libraries() -> None:
    """Keep the output to figures: Lightning's start-up notes and hints are the same every run."""
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    for message in (
        ".*does not have many workers.*",
        ".*smaller than the logging interval.*",
        ".*Tensor Cores.*",
        ".*num_real=.*reference set has.*",
        ".*treespec.*",
    ):
        warnings.filterwarnings("ignore", message=message)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is available")
    if args.threads:
        torch.set_num_threads(args.threads)
    use_clock(args.clock)
    quiet_libraries()
    results: dict[str, Any] = {"environment": environment(args)}
    results["settings"] = {
        "sections": args.sections,
        "iterations": args.iterations,
        "warmup": args.warmup,
        "rounds": args.rounds,
        "presets": args.presets,
        "progress_bar": not args.no_progress_bar,
        "clock": args.clock,
        "compiled": not args.no_compile,
        "constraints": args.constraints,
        "constraint_base": args.constraint_base,
        "fid_real": args.fid_real,
        "fid_fake": args.fid_fake,
        "fid_overrides": args.fid_overrides,
        "data_batches": args.data_batches,
    }
    print(" ".join(f"{k}={v}" for k, v in results["environment"].items()))
    print(" ".join(f"{k}={v}" for k, v in results["settings"].items()), flush=True)
    for name, run_section in SECTIONS.items():
        if name in args.sections:
            print(f"\n[{name}]", flush=True)
            started = time.perf_counter()
            run_section(args, results)
            print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)
    print_summary(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return results


if __name__ == "__main__":
    main()
