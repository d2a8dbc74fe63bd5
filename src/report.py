"""Compare runs from their CSV logs: a markdown table of final and best metric values, and curves.

    python src/report.py logs/multiruns/2026-11-23_10-00-00
    python src/report.py logs/ --metrics fid,kid --out reports/all --title "All runs so far"
    python src/report.py logs/multiruns/A logs/multiruns/B --aggregate seed
    python src/report.py logs/multiruns/A --wandb-workspace me/ganarena [--upload]
    python src/report.py --upload-workspace logs/multiruns/A/wandb_workspace.json
    python src/report.py logs/stability --aggregate optim.critic.lr,n_critic --success "modes_covered>=500"

Each PATH is a run directory, a sweep directory, or any directory above them: every directory
below it that holds csv/metrics.csv is a run. The report goes to --out (default: the first PATH)
as report.md, curves.png and, with --aggregate, curves_mean.png; the markdown is also printed.
`--wandb-workspace ENTITY/PROJECT` also writes wandb_workspace.json: the W&B workspace of the
sweep's group (the sweep directory's name) with a panel per reported metric and the sample grids,
built offline; `--upload` saves it to W&B now, `--upload-workspace FILE` later.
Runs that cannot be read are skipped with a warning; a PATH that does not exist, no runs at all,
or a metric no run logged end with one message (exit status 1).
"""

import argparse
import sys
from pathlib import Path

from ganarena.errors import ArenaError, exit_on_user_error
from ganarena.report.dashboard import DashboardSpec, load_spec, save_offline, upload
from ganarena.report.document import write_report
from ganarena.report.success import SuccessRule

WORKSPACE_FILE = "wandb_workspace.json"


def names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="report.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="runs, sweeps or directories above them")
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="where report.md and the figures go (default: the first PATH)"
    )
    parser.add_argument(
        "--metrics",
        type=names,
        metavar="NAMES",
        help="comma-separated columns, e.g. fid,kid or val/fid,train/generator_loss; NAME without a slash"
        " means val/NAME (default: every val/* column)",
    )
    parser.add_argument(
        "--aggregate",
        type=names,
        default=[],
        metavar="KEYS",
        help="comma-separated override keys, e.g. seed: group runs whose overrides differ only in them"
        " and add mean ± std over each group",
    )
    parser.add_argument(
        "--band",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="shade ± one std around the group means (default: on)",
    )
    parser.add_argument(
        "--success",
        metavar="RULE",
        help="METRIC OP NUMBER, e.g. modes_covered>=500: the share of runs (of each --aggregate group)"
        " whose final value passes; a run without a finite final value fails",
    )
    parser.add_argument("--title", help="the report's heading (default: the PATHs)")
    parser.add_argument(
        "--wandb-workspace",
        metavar="ENTITY/PROJECT",
        help="also write wandb_workspace.json: the W&B workspace of the sweep in the first PATH",
    )
    parser.add_argument("--upload", action="store_true", help="with --wandb-workspace: save it to W&B now")
    parser.add_argument("--upload-workspace", type=Path, metavar="FILE", help="save a written wandb_workspace.json")
    args = parser.parse_args(argv)
    if not args.paths and not args.upload_workspace:
        parser.error("give the runs or sweeps to report on (PATH ...), or --upload-workspace FILE")
    return args


def workspace(args: argparse.Namespace, columns: list[str], out: Path) -> None:
    entity, _, project = args.wandb_workspace.partition("/")
    if not entity or not project:
        raise ArenaError(f"--wandb-workspace {args.wandb_workspace}: give ENTITY/PROJECT, e.g. me/ganarena")
    spec = DashboardSpec(entity, project, group=args.paths[0].resolve().name, metrics=tuple(columns))
    print(f"written: {save_offline(spec, out / WORKSPACE_FILE)}", file=sys.stderr)
    if args.upload:
        print(f"W&B workspace: {upload(spec)}", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.upload_workspace:
        with exit_on_user_error():
            print(f"W&B workspace: {upload(load_spec(args.upload_workspace))}", file=sys.stderr)
        return
    with exit_on_user_error():
        success = SuccessRule.parse(args.success) if args.success else None
        report = write_report(args.paths, args.out, args.metrics, tuple(args.aggregate), args.title, args.band, success)
        if args.wandb_workspace:
            workspace(args, report.columns, args.out or args.paths[0])
    for skipped in report.skipped:
        print(f"warning: skipped {skipped.path}: {skipped.reason}", file=sys.stderr)
    print(report.text, end="")
    print(f"written: {', '.join(map(str, report.files))}", file=sys.stderr)


if __name__ == "__main__":
    main()
