"""src/eval.py, src/sample.py and src/export.py on checkpoints of tiny training runs made here: eval.py
reproduces the value logged at the last evaluation, takes metrics overrides, sample.py writes .npy /
.png, and an exported .safetensors file gives the checkpoint's samples and metrics."""

import csv
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open

from conftest import FAST, REPO, compose_config
from ganarena.errors import CheckpointError, ConfigError
from ganarena.run.training import train

TINY_DCGAN = ["model.generator.width=8", "model.critic.width=8", "latent_dim=16", "batch_size=8"]
# The FID machinery with a stand-in backbone (tests/test_metrics.py) instead of Inception's 4 images/s.
POOL_FID = [
    "metrics=fid",
    "metrics/backbone=classifier",
    "~metrics.fid.backbone.classifier_steps",
    "metrics.fid.backbone._target_=test_metrics.PoolFeatures",
    "metrics.fid.num_real=48",
    "metrics.fid.num_fake=24",
    "metrics.fid.batch_size=8",
    "metrics.fid.kid_subset_size=12",
    "metrics.fid.every_n_iterations=2",
]
# eval.py builds only conf/'s classes from a checkpoint's config; a class of one's own is given on its command line.
POOL_BACKBONE = "metrics.fid.backbone._target_=test_metrics.PoolFeatures"


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(f"ganarena_script_{name}", REPO / "src" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def logged(run_dir) -> list[dict[str, str]]:
    with open(run_dir / "csv" / "metrics.csv") as f:
        return [row for row in csv.DictReader(f) if any(k.startswith("val/") and v for k, v in row.items())]


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("digits")
    overrides = [*FAST, "trainer.max_steps=4", *TINY_DCGAN, *POOL_FID, f"metrics.fid.cache_dir={run_dir}/cache"]
    train(compose_config(overrides, run_dir))
    return run_dir


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("toy")
    tiny_mlp = ["model.generator.hidden=16", "model.critic.hidden=16"]
    train(
        compose_config(
            [*FAST, "data=ring8", "trainer.max_steps=2", "metrics.toy_modes.every_n_iterations=2", *tiny_mlp], run_dir
        )
    )
    return run_dir


def test_training_logs_curves_protocol_and_a_best_checkpoint(digits_run, tmp_path):
    rows = logged(digits_run)
    assert [int(r["step"]) for r in rows] == [2, 4]
    for suffix in ("", "_ema"):  # the trained generator and the default run's average
        assert all(float(r[f"val/fd_pool{suffix}"]) > 0 and r[f"val/kd_pool{suffix}"] for r in rows)
        assert all(r[f"val/kd_pool_std{suffix}"] for r in rows)
    # best.ckpt holds the iteration where the average (the generator eval.py uses) scored lowest,
    # and its weights score exactly that.
    scores = {int(r["step"]): float(r["val/fd_pool_ema"]) for r in rows}
    assert len(set(scores.values())) == 2  # the best and the worst are different checkpoints
    best_step = min(scores, key=scores.get)
    best = digits_run / "checkpoints" / "best.ckpt"
    assert torch.load(best, map_location="cpu", weights_only=False)["iteration"] == best_step
    report = load_script("eval").evaluate([f"ckpt_path={best}", f"output={tmp_path}/best.json", POOL_BACKBONE])
    assert report["generator"] == "averaged (ema)"
    assert report["values"]["val/fd_pool"] == pytest.approx(scores[best_step], rel=1e-6)
    protocol = (digits_run / "csv" / "hparams.yaml").read_text()
    assert "backbone: pool4" in protocol and "num_real: 48" in protocol and "num_fake: 24" in protocol


def test_eval_script_reproduces_the_last_logged_value(digits_run):
    ckpt = digits_run / "checkpoints" / "last.ckpt"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, str(REPO / "src" / "eval.py"), f"ckpt_path={ckpt}", POOL_BACKBONE],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "val/fd_pool" in result.stdout and "averaged (ema) generator" in result.stdout
    report = json.loads((ckpt.parent / "metrics.json").read_text())
    last = logged(digits_run)[-1]
    assert report["iteration"] == 4
    for key in ("val/fd_pool", "val/kd_pool"):  # eval.py scores the average: training logged it as *_ema
        assert report["values"][key] == pytest.approx(float(last[f"{key}_ema"]), rel=1e-6)
    assert report["protocol"]["fid"]["num_real"] == 48


def test_eval_takes_metrics_overrides_and_an_output_path(digits_run, tmp_path):
    evaluate = load_script("eval").evaluate
    ckpt = digits_run / "checkpoints" / "last.ckpt"
    report = evaluate([f"ckpt_path={ckpt}", POOL_BACKBONE, "metrics.fid.num_fake=12", f"output={tmp_path}/fewer.json"])
    assert report["protocol"]["fid"]["num_fake"] == 12
    assert json.loads((tmp_path / "fewer.json").read_text())["values"] == report["values"]
    with pytest.raises(ConfigError, match="mode coverage needs a stacked"):
        evaluate([f"ckpt_path={ckpt}", "metrics=modes"])
    with pytest.raises(ConfigError, match=r"eval\.py takes"):
        evaluate([f"ckpt_path={ckpt}", "seed=3"])
    with pytest.raises(CheckpointError, match=r"checkpoint .*\.ckpt does not exist"):
        evaluate([f"ckpt_path={tmp_path}/missing.ckpt"])


def test_eval_on_a_toy_run_reproduces_mode_metrics_and_draws_them(toy_run, tmp_path):
    evaluate = load_script("eval").evaluate
    ckpt = toy_run / "checkpoints" / "last.ckpt"
    report = evaluate([f"ckpt_path={ckpt}", f"output={tmp_path}/toy.json"])
    last = logged(toy_run)[-1]
    for key in ("val/modes_captured", "val/high_quality_percent"):
        assert report["values"][key] == pytest.approx(float(last[key]))
    assert Image.open(tmp_path / "toy_toy_modes.png").size == (512, 512)
    # A group choice composes fresh metrics configs for the checkpoint's run.
    fresh = evaluate(
        [f"ckpt_path={ckpt}", "metrics=modes", "metrics.toy_modes.num_samples=100", f"output={tmp_path}/m.json"]
    )
    assert fresh["protocol"]["toy_modes"]["num_fake"] == 100
    with pytest.raises(ConfigError, match="FID and KID need image data"):
        evaluate([f"ckpt_path={ckpt}", "metrics=fid"])


def test_sample_script_writes_raw_values_and_pictures(digits_run, toy_run, tmp_path):
    sample = load_script("sample")
    npy = sample.write(
        sample.parse([f"ckpt_path={digits_run}/checkpoints/last.ckpt", "num_samples=10", f"output={tmp_path}/s.npy"])
    )
    values = np.load(npy)
    assert values.shape == (10, 1, 32, 32) and values.dtype == np.float32 and np.abs(values).max() <= 1
    again = sample.write(
        sample.parse([f"ckpt_path={digits_run}/checkpoints/last.ckpt", "num_samples=10", f"output={tmp_path}/t.npy"])
    )
    assert np.array_equal(np.load(again), values)  # fixed noise (seed 0)
    grid = sample.write(
        sample.parse([f"ckpt_path={digits_run}/checkpoints/last.ckpt", "num_samples=16", f"output={tmp_path}/g.png"])
    )
    assert Image.open(grid).size[0] > 4 * 32
    points = sample.write(
        sample.parse([f"ckpt_path={toy_run}/checkpoints/last.ckpt", "num_samples=200", f"output={tmp_path}/p.npy"])
    )
    assert np.load(points).shape == (200, 2)
    scatter = sample.write(
        sample.parse([f"ckpt_path={toy_run}/checkpoints/last.ckpt", "num_samples=200", f"output={tmp_path}/p.png"])
    )
    assert Image.open(scatter).size == (512, 512)
    with pytest.raises(ConfigError, match=r"\.npy .* or \.png"):
        sample.parse([f"ckpt_path={toy_run}/checkpoints/last.ckpt", f"output={tmp_path}/p.jpg"])


def test_exported_generator_gives_the_checkpoints_samples_and_metrics(digits_run, toy_run, tmp_path):
    export, sample, evaluate = load_script("export"), load_script("sample"), load_script("eval").evaluate
    ckpt = digits_run / "checkpoints" / "last.ckpt"
    exported = export.export(export.parse([f"ckpt_path={ckpt}", f"output={tmp_path}/digits.safetensors"]))
    with safe_open(str(exported), framework="pt") as file:
        names, metadata = list(file.keys()), file.metadata()
    trained = {name.removeprefix("generator.") for name in names if name.startswith("generator.")}
    averaged = {name.removeprefix("generator_ema.") for name in names if name.startswith("generator_ema.")}
    assert trained and trained == averaged and len(names) == 2 * len(trained)  # the generator and its average
    assert any(name.endswith("running_mean") for name in trained)  # batch-norm buffers travel too
    assert metadata["format"] == "ganarena-generator" and metadata["iteration"] == "4"
    assert json.loads(metadata["config"])["latent_dim"] == 16
    for seed in (0, 5):
        paths = [
            sample.write(
                sample.parse([f"ckpt_path={p}", "num_samples=12", f"seed={seed}", f"output={tmp_path}/{i}.npy"])
            )
            for i, p in enumerate((ckpt, exported))
        ]
        assert np.array_equal(np.load(paths[0]), np.load(paths[1]))
    toy = export.export(
        export.parse([f"ckpt_path={toy_run}/checkpoints/last.ckpt", f"output={tmp_path}/t.safetensors"])
    )
    from_ckpt = evaluate([f"ckpt_path={toy_run}/checkpoints/last.ckpt", f"output={tmp_path}/c.json"])
    from_export = evaluate([f"ckpt_path={toy}", f"output={tmp_path}/e.json"])
    # Compared as text: equal values, and a reverse KL of nan (no mode captured yet) on both sides.
    assert json.dumps(from_export["values"]) == json.dumps(from_ckpt["values"]) and from_export["iteration"] == 2
    with pytest.raises(ConfigError, match=r"must end in \.safetensors"):
        export.parse([f"ckpt_path={ckpt}", f"output={tmp_path}/gen.ckpt"])
