"""Generator iterations per second under `gan_ddp` against DDP with find_unused_parameters=True.

    python scripts/benchmark_ddp.py                        # 2 CPU processes, DCGAN on digits
    python scripts/benchmark_ddp.py --accelerator gpu --devices 2 --steps 300
    python scripts/benchmark_ddp.py --overrides constraint=gp model.critic.norm=layer

Both strategies train the same run (GAN-QP, DCGAN, batch 64 per process, n_critic 2, unless
--overrides say otherwise) for --steps generator iterations; the first --warmup iterations are
not timed. The strategies alternate for --rounds rounds, and the median of each is reported,
with the ratio gan_ddp / find_unused (above 1: gan_ddp is faster).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STRATEGIES = {"gan_ddp": "gan_ddp", "find_unused": "ddp_find_unused_parameters_true"}


def timed_fit(strategy: str, args: argparse.Namespace) -> None:
    """One training run in this process (Lightning starts the other ranks); rank 0 prints its speed."""
    import lightning as L
    from hydra import compose, initialize_config_dir

    import ganarena.run  # noqa: F401  (registers gan_ddp and the config resolvers)
    from ganarena.run.build import build_run

    class IterationTimer(L.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if pl_module.iteration == args.warmup:
                self.started = time.perf_counter()

        def on_train_end(self, trainer, pl_module):
            if trainer.is_global_zero:
                rate = (pl_module.iteration - args.warmup) / (time.perf_counter() - self.started)
                print(f"RESULT {rate:.4f}", flush=True)

    overrides = [
        f"paths.output_dir={args.output}/{strategy}",
        "run_name=benchmark",
        "logger=csv",
        "callbacks.samples.every_n_iterations=1000000",
        "callbacks.checkpoint.every_n_train_steps=1000000",
        "callbacks.checkpoint.save_last=false",
        f"trainer.accelerator={args.accelerator}",
        f"trainer.devices={args.devices}",
        f"trainer.strategy={STRATEGIES[strategy]}",
        f"trainer.max_steps={args.steps}",
        "trainer.enable_progress_bar=false",
        *args.overrides,
    ]
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides)
    L.seed_everything(cfg.seed)
    datamodule, module, trainer = build_run(cfg)
    trainer.callbacks.append(IterationTimer())
    trainer.fit(module, datamodule=datamodule)


def measure(strategy: str, args: argparse.Namespace) -> float:
    command = [sys.executable, __file__, "--worker", strategy, *sys.argv[1:]]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    if result.returncode != 0 or not lines:
        raise SystemExit(f"{strategy} run failed:\n{result.stderr[-3000:]}")
    return float(lines[-1].split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accelerator", default="cpu")
    parser.add_argument("--devices", type=int, default=2)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", default="logs/benchmarks/ddp")
    parser.add_argument("--overrides", nargs="*", default=[])
    parser.add_argument("--worker", choices=STRATEGIES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        timed_fit(args.worker, args)
        return

    rates: dict[str, list[float]] = {name: [] for name in STRATEGIES}
    for _ in range(args.rounds):
        for name in STRATEGIES:
            rates[name].append(measure(name, args))
    medians = {name: statistics.median(values) for name, values in rates.items()}
    print(f"{args.devices} x {args.accelerator}, {args.steps - args.warmup} timed iterations, {args.rounds} rounds")
    for name, values in rates.items():
        print(f"  {name:12s} {medians[name]:7.3f} it/s  (runs: {', '.join(f'{v:.3f}' for v in values)})")
    print(f"  ratio gan_ddp / find_unused: {medians['gan_ddp'] / medians['find_unused']:.3f}")


if __name__ == "__main__":
    main()
