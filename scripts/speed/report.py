"""The speed benchmark's output: the machine it ran on and the summary tables of every section that ran.

    results["environment"] = environment(args)
    print_summary(results)   # one table per section present in `results`

The figures themselves come from the section modules; this module only formats them.
"""

from __future__ import annotations

import contextlib
import os
import platform
from pathlib import Path
from typing import Any

import lightning as L
import torch


def cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def environment(args) -> dict[str, Any]:
    info = {
        "device": str(args.device),
        "device_name": torch.cuda.get_device_name(args.device) if args.device.type == "cuda" else cpu_name(),
        "torch": torch.__version__,
        "lightning": L.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "cpu_cores": os.cpu_count(),
    }
    if args.device.type == "cuda":
        info["cuda"] = torch.version.cuda
        info["tf32_matmul"] = torch.backends.cuda.matmul.allow_tf32
    return info


def print_summary(results: dict) -> None:
    print("\n=== summary ===")
    env, settings = results["environment"], results["settings"]
    print(
        f"device {env['device']} ({env['device_name']}), torch {env['torch']}, lightning {env['lightning']},"
        f" {env['threads']} threads; {settings['iterations']} timed iterations after {settings['warmup']},"
        f" {settings['rounds']} rounds, medians"
    )
    if "lightning" in results:
        print("\nLightning overhead (generator iterations/s; compiled: compile=true)")
        print(
            f"  {'preset':32s} {'batch x n_critic':>16s} {'lightning':>10s} {'plain':>10s} {'ratio':>7s}  same work"
            f"  {'compiled':>10s} {'/ plain':>7s} {'warm-up':>8s}  compiled within rounding"
        )
        for preset, row in results["lightning"].items():
            shape = f"{row['batch_size']} x {row['n_critic']}"
            same_work = "yes" if results["equivalence"][preset]["equal"] else "NO"
            line = (
                f"  {preset:32s} {shape:>16s} {row['lightning_it_per_s']:10.3f} {row['plain_it_per_s']:10.3f}"
                f" {row['ratio_lightning_to_plain']:7.3f}  {same_work:9s}"
            )
            if "compiled_it_per_s" in row:
                compiled = results["equivalence"][f"{preset} [compiled]"]
                rounding = f"{compiled['max_abs_difference']:.2g} vs {compiled.get('rounding_noise_difference', 0):.2g}"
                line += (
                    f" {row['compiled_it_per_s']:10.3f} {row['ratio_compiled_to_plain']:7.3f}"
                    f" {row['compile_warmup_seconds']:7.1f}s  {rounding}"
                )
            print(line)
    for preset, variants in results.get("profile", {}).items():
        print(f"\nWhere Lightning's time goes: {preset}")
        print(f"  {'variant':24s} {'it/s':>10s} {'ms/it':>10s} {'vs plain':>9s}")
        for name, row in variants.items():
            print(f"  {name:24s} {row['it_per_s']:10.3f} {row['ms_per_iteration']:10.2f} {row['ratio_to_plain']:9.3f}")
    if "constraints" in results:
        base = next(iter(results["constraints"]))
        print(f"\nConstraint cost ({' '.join(settings['constraint_base'])}; Lightning)")
        print(f"  {'constraint':12s} {'s/iteration':>12s} {'vs ' + base:>10s}")
        for constraint, row in results["constraints"].items():
            print(f"  {constraint:12s} {row['s_per_iteration']:12.4f} {row[f'ratio_to_{base}']:10.3f}")
    if "fid" in results:
        fid = results["fid"]
        print(f"\nFID evaluation ({fid['backbone']}, {fid['num_real']} real / {fid['num_fake']} fake images)")
        rows = [
            ("cold cache", f"{fid['cold_s']:8.2f} s", ""),
            ("cached real features", f"{fid['warm_s']:8.2f} s", f"loading the backbone {fid['backbone_load_s']:.2f} s"),
            (
                "later evaluations",
                f"{fid['repeat_s']:8.2f} s",
                f"FID and KID from features {fid['fid_kid_compute_s']:.2f} s",
            ),
            ("cold / cached", f"{fid['ratio_cold_to_warm']:8.2f}  ", ""),
            ("real images/s", f"{fid['real_images_per_s']:8.1f}  ", "read, embedded, cached"),
            ("generated images/s", f"{fid['fake_images_per_s']:8.1f}  ", "generated, embedded, FID/KID included"),
        ]
        for label, figure, note in rows:
            print(f"  {label:22s} {figure}  {f'({note})' if note else ''}".rstrip())
    if "data" in results:
        print("\nData loader vs training (images/s)")
        print(f"  {'preset':32s} {'loader':>10s} {'+ copy':>10s} {'training':>10s} {'ratio':>7s}")
        for preset, row in results["data"].items():
            print(
                f"  {preset:32s} {row['loader_images_per_s']:10.0f} {row['loader_and_copy_images_per_s']:10.0f}"
                f" {row['training_images_per_s']:10.1f} {row['ratio_loader_to_training']:7.1f}"
            )
