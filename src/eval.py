"""Evaluate a checkpoint or an exported generator: rebuild its run, compute metrics, print a table,
write metrics.json.

    python src/eval.py ckpt_path=logs/runs/<run>/checkpoints/last.ckpt
    python src/eval.py ckpt_path=gen.safetensors              # a file written by src/export.py
    python src/eval.py ckpt_path=PATH metrics.fid.num_fake=10000 metrics.fid.num_real=null
    python src/eval.py ckpt_path=PATH metrics=fid metrics/backbone=classifier output=fd.json
    python src/eval.py ckpt_path=PATH accelerator=cpu

A run that kept an averaged generator (ema=on) is evaluated with that average, and the report says so.
Without metrics overrides the metrics are the run's own (the checkpoint holds its resolved
config), so the value logged at the checkpoint's iteration is reproduced. Dotted overrides
(`metrics.fid.num_fake=...`) change that config; a group choice (`metrics=...`,
`metrics/backbone=...`) replaces it with a fresh one from conf/metrics/, which the dotted
overrides then adjust; a `_target_` or `weights_path` set on the command line is taken as given,
while the file's own are limited to the classes conf/ names and to no network file at all. The
values go to `metrics.json` beside the checkpoint, or to `output`;
evaluations that draw a picture (toy mode metrics: the evaluated points) save it beside it.
"""

import json
import sys
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from ganarena.errors import ConfigError, exit_on_user_error
from ganarena.run.build import build_evaluations
from ganarena.run.devices import device_for
from ganarena.run.trained import load_trained

CONF = Path(__file__).resolve().parents[1] / "conf"
OPTIONS = ("ckpt_path", "output", "accelerator")


def parse(argv: list[str]) -> tuple[dict, list[str], list]:
    """(options, metrics group choices, dotted metrics overrides) of the command line."""
    options: dict = {"ckpt_path": None, "output": None, "accelerator": "auto"}
    groups, dotted = [], []
    for override in OverridesParser.create().parse_overrides(argv):
        key = override.key_or_group
        if key in OPTIONS:
            options[key] = override.value()
        elif key == "metrics" or key.startswith("metrics/"):
            groups.append(override.input_line)
        elif key.startswith("metrics.") and not override.is_delete():
            dotted.append(override)
        else:
            raise ConfigError(
                f"eval.py takes ckpt_path=, output=, accelerator= and metrics overrides, not {override.input_line!r}"
            )
    if not options["ckpt_path"]:
        raise ConfigError("pass the checkpoint to evaluate: python src/eval.py ckpt_path=PATH [metrics overrides]")
    return options, groups, dotted


def choose_metrics(cfg: DictConfig, groups: list[str], dotted: list) -> None:
    """Replace or adjust `cfg.metrics` as the command line asks (see the module docstring)."""
    if groups:
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            fresh = compose("train", overrides=[*groups, *(o.input_line for o in dotted)])
        # Unresolved: ${paths.data_dir} and ${trainer.accelerator} resolve against the checkpoint's run.
        cfg.metrics = OmegaConf.to_container(fresh.metrics, resolve=False)
        return
    for override in dotted:
        OmegaConf.update(cfg, override.key_or_group, override.value(), force_add=override.is_add())


def evaluate(argv: list[str]) -> dict:
    options, groups, dotted = parse(argv)
    # What the command line sets is the user's choice, not the file's: it is not checked against conf/.
    named = ("._target_", ".weights_path")
    replaced = ["metrics"] if groups else [o.key_or_group for o in dotted if o.key_or_group.endswith(named)]
    run = load_trained(options["ckpt_path"], ignored=replaced)
    cfg = run.cfg
    OmegaConf.update(cfg, "trainer.accelerator", options["accelerator"], merge=True)
    choose_metrics(cfg, groups, dotted)
    evaluations = build_evaluations(cfg, run.datamodule)
    if not evaluations:
        raise ConfigError(
            f"no metric of this config applies to {type(run.datamodule).__name__}; choose one with metrics=..."
        )
    device = device_for(options["accelerator"])
    run.datamodule.prepare_data()
    run.datamodule.setup("fit")
    generator = run.generator.to(device)
    output = Path(options["output"] or run.path.with_name("metrics.json"))
    kind = "averaged (ema)" if run.averaged else "trained"
    report = {"checkpoint": str(run.path), "iteration": run.iteration, "generator": kind, "values": {}, "protocol": {}}
    for evaluation in evaluations:
        values = evaluation.run(generator, run.datamodule, device)
        report["values"].update({f"val/{name}": value for name, value in values.items()})
        report["protocol"][evaluation.name] = evaluation.protocol()
        picture = evaluation.picture()
        if picture is not None:
            picture.save(output.with_name(f"{output.stem}_{evaluation.name}.png"))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print_table(report, output)
    return report


def print_table(report: dict, output: Path) -> None:
    print(f"{report['checkpoint']} (iteration {report['iteration']}, {report['generator']} generator)")
    width = max(len(name) for name in report["values"])
    for name, value in report["values"].items():
        print(f"  {name:<{width}}  {value:.6g}")
    for name, protocol in report["protocol"].items():
        print(f"  protocol {name}: " + ", ".join(f"{k}={v}" for k, v in protocol.items()))
    print(f"written to {output}")


def main() -> None:
    with exit_on_user_error():
        evaluate(sys.argv[1:])


if __name__ == "__main__":
    main()
