"""The lightning and profile sections of the speed benchmark: what lightning.Trainer and GANModule add.

    run_lightning_section(args, results)   # results["equivalence"], results["lightning"]
    run_profile_section(args, results)     # results["profile"]: one row per PROFILE_VARIANTS entry

`args` is benchmark_speed.py's parsed command line (presets, rounds, iterations, warmup, device).
"""

from __future__ import annotations

import statistics

from .equivalence import equivalence_report
from .plain_loop import RoundingNoisePlainLoop
from .runs import compose_run, lightning_seconds, plain_seconds, preset_overrides
from .timing import in_round_order, median_rate

PROFILE_VARIANTS = {
    "lightning": {},
    "lightning's update path": {"direct": False},
    "no progress bar": {"progress_bar": False},
    "+ no logging": {"progress_bar": False, "logging": False},
    "+ no finite check": {"progress_bar": False, "logging": False, "finite_check": False},
    "plain + finite check": {"plain": True, "finite_check": True},
    "plain + finite check, host waits": {"plain": True, "finite_check": True, "deferred": False},
    "plain": {"plain": True},
    "plain, compiled": {"plain": True, "compile": True},
    "lightning, compiled": {"compile": True},
}


def check_equivalence(args, results: dict) -> None:
    """For each preset, prove that the plain loop does the module's work before timing either.

    With compiled runs (not --no-compile), also compare the compiled module with the plain loop:
    its kernels sum in another order, so it is measured against the rounding yardstick.
    """
    equivalence = results.setdefault("equivalence", {})
    for preset in args.presets:
        kinds = {"eager": []} | ({} if args.no_compile else {"compiled": ["compile=true"]})
        for kind, extra in kinds.items():
            report = equivalence_report([*preset_overrides(preset), *extra], args.device, iterations=2)
            key = preset if kind == "eager" else f"{preset} [compiled]"
            equivalence[key] = report
            print(
                f"  equivalence {preset} ({kind}): plain loop vs Lightning after 2 iterations: max |dw| ="
                f" {report['max_abs_difference']:.3g} (weights moved up to {report['max_weight_change']:.3g};"
                f" {100 * report['fraction_apart']:.2f} % of weights > 1e-5 apart), same batches:"
                f" {report['same_batches']} -> {'equal' if report['equal'] else 'DIFFERENT'}",
                flush=True,
            )
            if not report["equal"]:
                # Reported rather than fatal: a device whose kernels are not reproducible must not cost the
                # other figures.
                if kind == "eager":
                    print(f"  WARNING: the plain loop did not end where Lightning ended for {preset}: {report}")
                yardstick = equivalence_report(
                    preset_overrides(preset), args.device, iterations=2, plain_loop=RoundingNoisePlainLoop
                )
                report["rounding_noise_difference"] = yardstick["max_abs_difference"]
                report["rounding_noise_fraction_apart"] = yardstick["fraction_apart"]
                print(
                    f"  for scale: gradients off by float32 rounding alone end {yardstick['max_abs_difference']:.3g}"
                    f" apart on this device ({100 * yardstick['fraction_apart']:.2f} % of weights > 1e-5 apart)",
                    flush=True,
                )


def run_lightning_section(args, results: dict) -> None:
    section = results.setdefault("lightning", {})
    check_equivalence(args, results)
    measure = {
        "lightning": lambda overrides, warmup: lightning_seconds(overrides, args, args.iterations, warmup=warmup),
        "compiled": lambda overrides, warmup: lightning_seconds(
            overrides, args, args.iterations, {"compile": True}, warmup=warmup
        ),
        "plain": lambda overrides, warmup: plain_seconds(overrides, args, args.iterations),
    }
    if args.no_compile:
        del measure["compiled"]
    runs = {p: {name: [] for name in measure} for p in args.presets}
    warmups = {p: {name: [] for name in measure} for p in args.presets}
    for round_index in range(args.rounds):
        for preset in args.presets:
            for name in in_round_order(list(measure), round_index):
                runs[preset][name].append(measure[name](preset_overrides(preset), warmups[preset][name]))
            rates = ", ".join(f"{name} {args.iterations / runs[preset][name][-1]:.3f} it/s" for name in measure)
            print(f"  round {round_index + 1}/{args.rounds} {preset}: {rates}", flush=True)
    for preset in args.presets:
        cfg = compose_run(preset_overrides(preset), "unused", args.device)
        rates = {name: median_rate(runs[preset][name], args.iterations) for name in measure}
        section[preset] = {
            "batch_size": cfg.batch_size,
            "n_critic": cfg.n_critic,
            "lightning_it_per_s": rates["lightning"],
            "plain_it_per_s": rates["plain"],
            "ratio_lightning_to_plain": rates["lightning"] / rates["plain"],
            # Within one round both ran back to back: a steadier figure when the machine's load drifts.
            "paired_ratios": [
                plain / lightning
                for lightning, plain in zip(runs[preset]["lightning"], runs[preset]["plain"], strict=True)
            ],
            "lightning_seconds": runs[preset]["lightning"],
            "plain_seconds": runs[preset]["plain"],
        }
        if "compiled" in measure:
            # Compilation happens in the first iterations: their excess over the eager run's.
            warmup = statistics.median(warmups[preset]["compiled"]) - statistics.median(warmups[preset]["lightning"])
            section[preset].update(
                compiled_it_per_s=rates["compiled"],
                ratio_compiled_to_plain=rates["compiled"] / rates["plain"],
                ratio_compiled_to_lightning=rates["compiled"] / rates["lightning"],
                paired_compiled_ratios=[
                    plain / compiled
                    for compiled, plain in zip(runs[preset]["compiled"], runs[preset]["plain"], strict=True)
                ],
                compiled_seconds=runs[preset]["compiled"],
                compile_warmup_seconds=warmup,
            )


def run_profile_section(args, results: dict) -> None:
    section = results.setdefault("profile", {})
    for preset in args.profile_presets or args.presets[:1]:
        overrides = preset_overrides(preset)
        seconds: dict[str, list[float]] = {name: [] for name in PROFILE_VARIANTS}
        for round_index in range(args.rounds):
            for name in in_round_order(list(PROFILE_VARIANTS), round_index):
                variant = PROFILE_VARIANTS[name]
                if variant.get("plain"):
                    measured = plain_seconds(overrides, args, args.iterations, variant)
                else:
                    measured = lightning_seconds(overrides, args, args.iterations, variant)
                seconds[name].append(measured)
            print(f"  round {round_index + 1}/{args.rounds} {preset}: done", flush=True)
        plain_rate = median_rate(seconds["plain"], args.iterations)
        section[preset] = {
            name: {
                "it_per_s": median_rate(values, args.iterations),
                "ms_per_iteration": 1000 * statistics.median(values) / args.iterations,
                "ratio_to_plain": median_rate(values, args.iterations) / plain_rate,
                "seconds": values,
            }
            for name, values in seconds.items()
        }
