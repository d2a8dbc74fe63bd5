"""The constraints section of the speed benchmark: seconds per generator iteration under each constraint.

    run_constraints_section(args, results)   # results["constraints"][name]: s_per_iteration, ratio to the first

`args` is benchmark_speed.py's parsed command line (constraints, constraint_base, rounds, iterations).
"""

from __future__ import annotations

import statistics

from .runs import lightning_seconds
from .timing import in_round_order


def run_constraints_section(args, results: dict) -> None:
    section = results.setdefault("constraints", {})
    seconds: dict[str, list[float]] = {c: [] for c in args.constraints}
    for round_index in range(args.rounds):
        for constraint in in_round_order(args.constraints, round_index):
            overrides = [*args.constraint_base, f"constraint={constraint}"]
            seconds[constraint].append(lightning_seconds(overrides, args, args.iterations))
        print(f"  round {round_index + 1}/{args.rounds}: done", flush=True)
    baseline = statistics.median(seconds[args.constraints[0]]) / args.iterations
    for constraint, values in seconds.items():
        per_iteration = statistics.median(values) / args.iterations
        section[constraint] = {
            "s_per_iteration": per_iteration,
            f"ratio_to_{args.constraints[0]}": per_iteration / baseline,
            "seconds": values,
        }
