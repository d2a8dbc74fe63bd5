"""FID/KID under two-process DDP on CPU: generation and embedding split across ranks, metric states
synced, real features counted once. The value logged by the DDP run must equal a single-process
evaluation of its checkpoint (a missing sync, or real statistics on both ranks, would move it).
The same launch trains WGAN-GP with spectral norm through src/train.py: the penalty's double
backward goes through the critic's DDP wrapper."""

import csv
import os

import pytest
from omegaconf import OmegaConf

from conftest import QUIET, REPO, run_train_script
from ganarena.metrics.real_stats import cache_path
from ganarena.run.build import build_evaluations
from ganarena.run.trained import load_trained
from test_eval_sample import POOL_FID

TINY_DCGAN = ["model.generator.width=8", "model.critic.width=8", "latent_dim=16", "batch_size=8"]


def test_ddp_evaluation_matches_a_single_process_evaluation(tmp_path):
    run_dir, cache = tmp_path / "run", tmp_path / "cache"
    args = ["trainer.devices=2", "trainer.accelerator=cpu", "trainer.max_steps=2", "logger=csv"]
    args += ["loss=wgan", "constraint=[gp,sn]", "trainer.log_every_n_steps=1"]
    # 25 fakes: ranks generate 13 and 12; 48 reals: each rank embeds 24 for the cache.
    metrics = [*POOL_FID, "metrics.fid.num_fake=25", f"metrics.fid.cache_dir={cache}"]
    env = {"PYTHONPATH": os.pathsep.join([str(REPO / "tests"), os.environ.get("PYTHONPATH", "")])}
    result = run_train_script([*args, *metrics, f"hydra.run.dir={run_dir}", *QUIET, *TINY_DCGAN], cwd=tmp_path, env=env)
    assert "MEMBER: 2/2" in result.stderr + result.stdout
    with open(run_dir / "csv" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    penalties = [float(row["train/penalty"]) for row in rows if row.get("train/penalty")]
    assert len(penalties) == 2 and all(p > 0 for p in penalties)
    logged = [row for row in rows if row.get("val/fd_pool")]
    assert [int(row["step"]) for row in logged] == [2]
    assert cache_path(cache, "digits-all-1x32x32", "pool4", 48).is_file()

    # The stand-in backbone is not a conf/ class: given here, as on eval.py's command line.
    backbone = "metrics.fid.backbone._target_"
    run = load_trained(run_dir / "checkpoints" / "last.ckpt", ignored=[backbone])
    OmegaConf.update(run.cfg, backbone, "test_metrics.PoolFeatures")
    run.datamodule.setup("fit")
    (evaluation,) = build_evaluations(run.cfg, run.datamodule)
    values = evaluation.run(run.generator, run.datamodule, "cpu")
    assert evaluation.backbone.embedded == 25  # the real side came from the cache written under DDP
    # The checkpoint hands out the default run's average, logged beside the trained one as val/*_ema.
    assert run.averaged
    assert values["fd_pool"] == pytest.approx(float(logged[0]["val/fd_pool_ema"]), rel=1e-6)
    assert values["kd_pool"] == pytest.approx(float(logged[0]["val/kd_pool_ema"]), rel=1e-6)
