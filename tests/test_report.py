"""src/report.py: run directories in their real formats in, tables and curves out."""

from __future__ import annotations

import csv
import importlib.util
import math
import os
import subprocess
import sys
from itertools import takewhile
from pathlib import Path

import pytest
from PIL import Image

from conftest import FAST, REPO, TINY_MLP, run_train_script
from ganarena.errors import ArenaError
from ganarena.report.document import write_report
from ganarena.report.runs import Curve, read_runs
from ganarena.report.success import SuccessRule
from ganarena.report.summary import HIGHER, LOWER, Spread, direction, group_runs, mean_curve, summarize
from ganarena.report.tables import duration

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TOY_PROTOCOL = {"mixture": "ring8", "num_modes": 8, "high_quality_radius": 0.03, "num_fake": 2500, "seed": 0}


def load_report_script():
    spec = importlib.util.spec_from_file_location("ganarena_script_report", REPO / "src" / "report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_run(
    run_dir: Path,
    overrides: list[str],
    evaluations: dict[int, dict[str, float]],
    train_steps: int = 0,
    protocol: dict | None = None,
    extra_lines: list[str] = (),
) -> Path:
    """A run directory as train.py leaves it: .hydra/, train.log, csv/metrics.csv (+ hparams.yaml), a checkpoint.

    The CSV is written as Lightning's CSV logger writes it: sorted metric columns after epoch and
    step, a training row every 10 steps at the 0-based iteration index (step 9 ends iteration 10),
    evaluation rows at the iteration count with an empty epoch; `extra_lines` are appended raw.
    """
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    (run_dir / ".hydra" / "config.yaml").write_text("seed: 0\n")
    (run_dir / "train.log").write_text("")
    rows = [{"epoch": "0", "step": str(step), "train/generator_loss": "0.5"} for step in range(9, train_steps, 10)]
    for iteration, values in evaluations.items():
        rows.append({"epoch": "", "step": str(iteration), **{k: repr(v) for k, v in values.items()}})
    columns = sorted({k for row in rows for k in row} - {"epoch", "step"})
    (run_dir / "csv").mkdir()
    with open(run_dir / "csv" / "metrics.csv", "w", newline="") as file:
        writer = csv.DictWriter(file, ["epoch", "step", *columns], restval="")
        writer.writeheader()
        writer.writerows(sorted(rows, key=lambda row: int(row["step"])))
        file.writelines(line + "\n" for line in extra_lines)
    if protocol is not None:
        lines = [f"protocol/{name}:\n" + "".join(f"  {k}: {v}\n" for k, v in p.items()) for name, p in protocol.items()]
        (run_dir / "csv" / "hparams.yaml").write_text("".join(lines))
    (run_dir / "checkpoints").mkdir()
    (run_dir / "checkpoints" / "last.ckpt").write_bytes(b"weights")
    return run_dir


def fid_run(run_dir: Path, seed: int, fids: list[float], extra: list[str] = ()) -> Path:
    """Evaluations every 100 iterations with the given FIDs; training rows up to the last one."""
    evaluations = {100 * (i + 1): {"val/fid": fid} for i, fid in enumerate(fids)}
    return write_run(run_dir, ["loss=wgan", f"seed={seed}", *extra], evaluations, train_steps=100 * len(fids))


def table(text: str, heading: str) -> list[dict[str, str]]:
    """The rows of the markdown table under `## heading`, as {column: cell}."""
    lines = text.split(f"## {heading}\n", 1)[1].strip().splitlines()
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in takewhile(str.strip, lines)]
    header, _, *rows = cells
    return [dict(zip(header, row, strict=True)) for row in rows]


def runs_by_name(text: str) -> dict[str, dict[str, str]]:
    return {row["run"]: row for row in table(text, "Runs")}


def groups_by_label(text: str) -> dict[str, dict[str, str]]:
    return {row["overrides"]: row for row in table(text, "Mean ± std over seed")}


# Reading runs ----------------------------------------------------------------------------------


def test_final_best_and_iterations_of_a_run(tmp_path):
    evaluations = {
        100: {"val/fid": 30.0, "val/modes_captured": 2.0},
        200: {"val/fid": 10.0, "val/modes_captured": 7.0},
        300: {"val/fid": 20.0, "val/modes_captured": 5.0},
    }
    write_run(tmp_path / "run", ["loss=hinge"], evaluations, train_steps=300)
    report = write_report([tmp_path / "run"])
    (run,), _ = read_runs([tmp_path / "run"])
    # Training rows end at step 299, the end of the 300th iteration; evaluations log at 300.
    assert run.curves["train/generator_loss"].iterations[-1] == 300
    assert run.curves["val/fid"].iterations == [100, 200, 300]
    assert table(report.text, "Runs") == [
        {
            "run": "run",
            "overrides": "`loss=hinge`",
            "iterations": "300",
            "wall time": "0s",
            "fid final": "20",
            "fid best ↓": "10 @200",
            "modes_captured final": "5",
            "modes_captured best ↑": "7 @200",
        }
    ]


def test_best_follows_each_metrics_direction():
    assert [direction(c) for c in ("val/fid", "val/kid", "val/reverse_kl", "val/mode_kl")] == [LOWER] * 4
    assert [direction(c) for c in ("val/fd_classifier", "val/kd_classifier")] == [LOWER] * 2
    assert [direction(c) for c in ("val/modes_captured", "val/high_quality_percent", "val/modes_covered")] == [
        HIGHER
    ] * 3
    # The spread of the KID estimate and unknown metrics have no better side: a final value only.
    assert [direction(c) for c in ("val/kid_std", "val/kd_classifier_std", "val/new_metric", "train/penalty")] == [
        None
    ] * 4
    curve = Curve([1, 2, 3], [3.0, 1.0, 2.0])
    assert summarize(curve, "val/kid").best.value == 1.0
    assert summarize(curve, "val/modes_covered").best.value == 3.0
    assert summarize(curve, "val/kid_std").best is None
    # NaN (no mode captured) can be final but not best.
    nan_last = Curve([1, 2], [2.0, math.nan])
    summary = summarize(nan_last, "val/reverse_kl")
    assert math.isnan(summary.final.value) and summary.best.value == 2.0


def test_duplicate_steps_gaps_and_a_cut_line(tmp_path):
    run_dir = write_run(
        tmp_path / "crashed",
        ["loss=gan"],
        {100: {"val/fid": 50.0}, 300: {"val/fid": 40.0}},  # no evaluation at 200: lost before a crash
        train_steps=150,
        # Resumed after a crash: iteration 300 again (the later row wins), then a line cut short.
        extra_lines=[",300,,35.0", "0,309,0.25,", "0,3"],
    )
    (run,), _ = read_runs([run_dir])
    assert run.curves["val/fid"].iterations == [100, 300]
    assert run.curves["val/fid"].values == [50.0, 35.0]
    assert run.iterations == 310  # the cut line "0,3" has no value; step 309 ends iteration 310
    (row,) = table(write_report([run_dir]).text, "Runs")
    assert (row["iterations"], row["fid final"], row["fid best ↓"]) == ("310", "35", "35 @300")


def test_runs_without_a_usable_log_are_skipped_with_a_warning(tmp_path, capsys):
    fid_run(tmp_path / "good", 0, [5.0])
    empty = tmp_path / "empty"
    fid_run(empty, 1, [5.0])
    (empty / "csv" / "metrics.csv").write_text("")
    header_only = tmp_path / "header_only"
    fid_run(header_only, 2, [5.0])
    (header_only / "csv" / "metrics.csv").write_text("epoch,step,val/fid\n")
    no_csv = tmp_path / "no_csv"
    fid_run(no_csv, 3, [5.0])
    (no_csv / "csv" / "metrics.csv").unlink()

    load_report_script().main([str(tmp_path), "--out", str(tmp_path / "report")])
    out, err = capsys.readouterr()
    for directory, reason in ((empty, "is empty"), (header_only, "has no rows"), (no_csv, "no csv/metrics.csv")):
        assert f"warning: skipped {directory}" in err and reason in err
    assert list(runs_by_name(out)) == ["good"]
    assert "Skipped:" in out and f"- {empty}: csv/metrics.csv is empty" in out


def test_mixed_columns_and_a_run_without_evaluations(tmp_path):
    images = {100: {"val/fid": 9.0, "val/kid": 0.01, "val/kid_std": 0.002}}
    write_run(tmp_path / "images", ["data=cifar10"], images, train_steps=100)
    write_run(tmp_path / "toy", ["data=ring8"], {100: {"val/modes_captured": 8.0}}, train_steps=100)
    write_run(tmp_path / "unevaluated", ["data=ring8", "metrics=none"], {}, train_steps=50)
    runs = runs_by_name(write_report([tmp_path], title="Mixed").text)
    metric_cells = {name: list(row.values())[4:] for name, row in runs.items()}
    assert list(runs["images"])[4:] == [
        "fid final",
        "fid best ↓",
        "kid final",
        "kid best ↓",
        "kid_std final",  # the spread of an estimate has no best
        "modes_captured final",
        "modes_captured best ↑",
    ]
    assert metric_cells == {
        "images": ["9", "9 @100", "0.01", "0.01 @100", "0.002", "-", "-"],
        "toy": ["-", "-", "-", "-", "-", "8", "8 @100"],
        "unevaluated": ["-"] * 7,
    }
    assert runs["unevaluated"]["iterations"] == "50"


def test_overrides_label_leaves_out_noise_and_what_all_runs_share(tmp_path):
    noise = ["hydra.run.dir=/x", "trainer.devices=4", "trainer.accelerator=gpu", "logger=csv", "resume=auto"]
    fid_run(tmp_path / "a", 0, [3.0], extra=[*noise, "+trainer.enable_model_summary=false"])
    fid_run(tmp_path / "b", 1, [4.0])
    text = write_report([tmp_path]).text
    assert "Overrides common to all: `loss=wgan`." in text
    assert [row["overrides"] for row in table(text, "Runs")] == ["`seed=0`", "`seed=1`"]


def test_wall_time_spans_the_first_file_to_the_last_log_or_checkpoint_write(tmp_path):
    run_dir = fid_run(tmp_path / "run", 0, [1.0])
    start = 1_700_000_000
    for path in run_dir.rglob("*"):
        if path.is_file():
            os.utime(path, (start, start))
    os.utime(run_dir / "csv" / "metrics.csv", (start + 100, start + 100))
    os.utime(run_dir / "checkpoints" / "last.ckpt", (start + 125, start + 125))
    # eval.py's output beside the checkpoint, written later, is not part of the run.
    (run_dir / "checkpoints" / "metrics.json").write_text("{}")
    (run,), _ = read_runs([run_dir])
    assert run.wall_time == 125
    assert [duration(s) for s in (125, 42.4, 7380, None)] == ["2m 05s", "42s", "2h 03m", "-"]


def test_protocols_get_a_letter_each(tmp_path):
    write_run(tmp_path / "r0", ["seed=0"], {100: {"val/fid": 1.0}}, protocol={"toy_modes": TOY_PROTOCOL})
    write_run(tmp_path / "r1", ["seed=1"], {100: {"val/fid": 1.0}}, protocol={"toy_modes": TOY_PROTOCOL})
    other = {**TOY_PROTOCOL, "num_fake": 500}
    write_run(tmp_path / "r2", ["seed=2"], {100: {"val/fid": 1.0}}, protocol={"toy_modes": other})
    text = write_report([tmp_path]).text
    assert [row["protocol"] for row in table(text, "Runs")] == ["A", "A", "B"]
    assert "- **A**: toy_modes (mixture=ring8, num_modes=8, high_quality_radius=0.03, num_fake=2500, seed=0)" in text
    assert "- **B**: toy_modes (" in text and "num_fake=500" in text


# Aggregation -----------------------------------------------------------------------------------


def test_aggregate_gives_mean_and_sample_std_of_final_and_best_values(tmp_path):
    # wgan: finals 1, 2, 3 (mean 2, sample std 1); bests 1, 0.5, 3 (mean 1.5, std sqrt(1.75)).
    fid_run(tmp_path / "sweep" / "0", 0, [1.0])
    fid_run(tmp_path / "sweep" / "1", 1, [0.5, 2.0])
    fid_run(tmp_path / "sweep" / "2", 2, [3.0])
    # hinge: finals 4 and 6 (mean 5, std sqrt(2)), in another order of the same overrides.
    write_run(tmp_path / "sweep" / "3", ["seed=0", "loss=hinge"], {100: {"val/fid": 4.0}})
    write_run(tmp_path / "sweep" / "4", ["loss=hinge", "seed=1", "trainer.devices=2"], {100: {"val/fid": 6.0}})
    runs, _ = read_runs([tmp_path / "sweep"])
    wgan, hinge = group_runs(runs, ("seed",))
    assert [run.name for run in wgan.runs] == ["0", "1", "2"] and [run.name for run in hinge.runs] == ["3", "4"]
    finals, bests = wgan.spreads("val/fid")
    assert (finals.mean, finals.std, finals.n) == (2.0, 1.0, 3)
    assert bests.mean == pytest.approx(1.5) and bests.std == pytest.approx(math.sqrt(1.75))
    assert hinge.spreads("val/fid")[0].std == pytest.approx(math.sqrt(2))

    text = write_report([tmp_path / "sweep"], aggregate=("seed",)).text
    assert "## Mean ± std over seed" in text
    assert table(text, "Mean ± std over seed") == [
        {
            "overrides": "`loss=wgan`",
            "n": "3",
            "runs": "0, 1, 2",
            "iterations": "100-200",
            "wall time": "0s",
            "fid final": "2 ± 1",
            "fid best ↓": "1.5 ± 1.3",
        },
        {
            "overrides": "`loss=hinge`",
            "n": "2",
            "runs": "3, 4",
            "iterations": "100",
            "wall time": "0s",
            "fid final": "5 ± 1.4",
            "fid best ↓": "5 ± 1.4",
        },
    ]


def test_aggregate_counts_only_finite_values_and_a_lone_run_has_no_std(tmp_path):
    for seed, kl in enumerate([1.0, 3.0, math.nan]):
        write_run(tmp_path / f"s{seed}", ["loss=gan", f"seed={seed}"], {100: {"val/reverse_kl": kl}})
    write_run(tmp_path / "lone", ["loss=hinge"], {100: {"val/reverse_kl": 7.0}})
    text = write_report([tmp_path], aggregate=("seed",)).text
    groups = groups_by_label(text)
    assert list(groups["`loss=gan`"].values())[-2:] == ["2 ± 1.4 (n=2)", "2 ± 1.4 (n=2)"]
    assert list(groups["`loss=hinge`"].values())[-2:] == ["7", "7"]
    assert Spread.of([math.nan]) is None


def test_success_share_counts_runs_whose_final_value_passes_per_group(tmp_path):
    # lr=1e-4: finals 600, 400 (its best, 700, does not count), NaN: 1 of 3. lr=1e-3: 500 and no metric: 1 of 2.
    write_run(tmp_path / "a", ["lr=1e-4", "seed=0"], {100: {"val/modes_covered": 600.0}})
    write_run(
        tmp_path / "b", ["lr=1e-4", "seed=1"], {100: {"val/modes_covered": 700.0}, 200: {"val/modes_covered": 400.0}}
    )
    write_run(tmp_path / "c", ["lr=1e-4", "seed=2"], {100: {"val/modes_covered": math.nan}})
    write_run(tmp_path / "d", ["lr=1e-3", "seed=0"], {100: {"val/modes_covered": 500.0}})
    write_run(tmp_path / "e", ["lr=1e-3", "seed=1"], {100: {"val/kl": 1.0}})
    rule = SuccessRule.parse("modes_covered>=500")
    text = write_report([tmp_path], aggregate=("seed",), success=rule).text
    assert table(text, "Success: final modes_covered >= 500") == [
        {"overrides": "`lr=1e-4`", "succeeded": "1/3", "share": "33 %"},
        {"overrides": "`lr=1e-3`", "succeeded": "1/2", "share": "50 %"},
    ]
    strict = write_report([tmp_path], out=tmp_path / "all", success=SuccessRule.parse("modes_covered > 500")).text
    assert table(strict, "Success: final modes_covered > 500") == [
        {"overrides": "(all runs)", "succeeded": "1/5", "share": "20 %"}
    ]


@pytest.mark.parametrize("text", ["modes_covered", "modes_covered=>5", "fid<=x"])
def test_a_malformed_success_rule_says_how_to_write_one(text):
    with pytest.raises(ArenaError, match=r"METRIC OP NUMBER|not a number"):
        SuccessRule.parse(text)


def test_mean_curve_averages_the_runs_present_at_each_iteration():
    mean = mean_curve([Curve([100, 200], [1.0, 3.0]), Curve([100, 200, 300], [3.0, math.nan, 8.0])])
    assert mean.iterations == [100, 200, 300]
    assert mean.means == [2.0, 3.0, 8.0]
    assert mean.stds[0] == pytest.approx(math.sqrt(2)) and math.isnan(mean.stds[1])


# Figures ---------------------------------------------------------------------------------------


def test_curves_of_many_runs_are_valid_pngs(tmp_path):
    sweep = tmp_path / "multiruns" / "2026-11-23_10-00-00"
    for job in range(16):
        loss = ("gan", "ns_gan", "wgan", "hinge", "lsgan", "gan_qp", "wgan_gp", "sngan")[job % 8]
        evaluations = {100 * i: {"val/fid": 100.0 / (i + job), "val/kid": 1.0 / (i + job)} for i in range(1, 6)}
        write_run(sweep / str(job), [f"loss={loss}", f"seed={job // 8}", "constraint=gp"], evaluations)
    report = write_report([tmp_path], out=tmp_path / "out", aggregate=("seed",), title="Sixteen runs")
    assert [path.name for path in report.files] == ["report.md", "curves.png", "curves_mean.png"]
    assert list(runs_by_name(report.text)) == [str(job) for job in range(16)]  # job 10 after job 9
    assert len(table(report.text, "Mean ± std over seed")) == 8
    for path in report.files[1:]:
        assert path.read_bytes().startswith(PNG_SIGNATURE)
        assert path.stat().st_size > 20_000
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            assert image.width > 800 and image.height > 300
    assert (tmp_path / "out" / "report.md").read_text() == report.text
    assert "![Curves of every run](curves.png)" in report.text


# Command line ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{tmp}/missing"], "missing does not exist; give a run directory"),
        (["{tmp}/empty_dir"], "no runs found under"),
        (["{tmp}/runs", "--metrics", "fid,fdi"], "--metrics: no run logged val/fdi; the runs logged"),
        (["{tmp}/runs", "--aggregate", "sed"], "--aggregate: no run overrides sed; the runs override loss, seed"),
    ],
)
def test_bad_input_ends_with_one_line_saying_what_to_fix(tmp_path, args, message):
    (tmp_path / "empty_dir").mkdir()
    fid_run(tmp_path / "runs" / "0", 0, [1.0])
    with pytest.raises(SystemExit) as exit_info:
        load_report_script().main([arg.format(tmp=tmp_path) for arg in args])
    text = str(exit_info.value.code)
    assert text.startswith("error: ") and message in text and "\n" not in text


def test_report_script_on_a_real_two_job_sweep(tmp_path):
    sweep = tmp_path / "sweep"
    toy = ["data=ring8", *TINY_MLP, "metrics.toy_modes.every_n_iterations=10", "metrics.toy_modes.num_samples=500"]
    run_train_script(
        ["-m", *FAST, *toy, "trainer.max_steps=20", "seed=0,1", f"hydra.sweep.dir={sweep}"], cwd=tmp_path, timeout=120
    )
    result = subprocess.run(
        [sys.executable, str(REPO / "src" / "report.py"), str(sweep), "--aggregate", "seed", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text == (tmp_path / "report.md").read_text()
    assert (tmp_path / "curves.png").read_bytes().startswith(PNG_SIGNATURE)
    assert (tmp_path / "curves_mean.png").read_bytes().startswith(PNG_SIGNATURE)
    # The label keeps what the runs compute and drops where and how they ran (accelerator, logger, display).
    assert "Overrides common to all: `batch_size=16 data=ring8 model.generator.hidden=32" in text
    assert "trainer.accelerator" not in text and "logger=csv" not in text
    runs = runs_by_name(text)
    for job in ("0", "1"):
        with open(sweep / job / "csv" / "metrics.csv", newline="") as file:
            rows = list(csv.DictReader(file))
        # Lightning's step: the last training row is step 19 of 20 iterations; evaluations log at 10 and 20.
        assert max(int(r["step"]) for r in rows if r["train/generator_loss"]) == 19
        last = [r for r in rows if r["val/modes_captured"]][-1]
        assert last["step"] == "20"
        row = runs[job]
        assert row["overrides"] == f"`seed={job}`" and row["iterations"] == "20" and row["protocol"] == "A"
        assert float(row["modes_captured final"]) == float(last["val/modes_captured"])
    (group,) = table(text, "Mean ± std over seed")
    assert (group["n"], group["runs"], group["iterations"]) == ("2", "0, 1", "20")
    assert "toy_modes (mixture=ring8, num_modes=8" in text and "num_fake=500" in text
