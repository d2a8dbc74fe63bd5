"""src/train.py end to end, as users run it: default run, presets, DDP on CPU, multirun sweeps."""

import csv

import torch

from conftest import QUIET, run_train_script

TINY_DCGAN = ["model.generator.width=8", "model.critic.width=8", "batch_size=8"]


def read_metrics(run_dir):
    with open(run_dir / "csv" / "metrics.csv") as f:
        return list(csv.DictReader(f))


def test_default_run_logs_to_wandb_offline_and_writes_samples(tmp_path):
    run_dir = tmp_path / "run"
    run_train_script(
        ["trainer.max_steps=3", "trainer.log_every_n_steps=1", f"hydra.run.dir={run_dir}", *QUIET, *TINY_DCGAN],
        cwd=tmp_path,
        env={
            "WANDB_MODE": None,
            "WANDB_API_KEY": None,
            "HOME": str(tmp_path),
            "WANDB_CONFIG_DIR": str(tmp_path / ".wandb"),
        },
    )
    assert list((run_dir / "wandb").glob("offline-run-*/*.wandb"))
    assert (run_dir / "samples" / "iter_000003.png").exists()
    assert (run_dir / "checkpoints" / "last.ckpt").exists()
    assert len(read_metrics(run_dir)) == 3


def test_experiment_preset_runs(tmp_path):
    run_dir = tmp_path / "run"
    run_train_script(
        ["experiment=wgan_gp", "trainer.max_steps=2", "logger=csv", f"hydra.run.dir={run_dir}", *QUIET, *TINY_DCGAN],
        cwd=tmp_path,
    )
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["config"]["constraint"]["gp"]["weight"] == 10.0 and ckpt["config"]["n_critic"] == 5
    assert not any("running_mean" in k for k in ckpt["state_dict"] if k.startswith("critic."))


def test_card_command_runs_as_ddp_on_two_cpu_processes_and_resumes(tmp_path):
    run_dir = tmp_path / "run"
    result = run_train_script(
        [
            "loss=gan_qp",
            "model=dcgan",
            "trainer.devices=2",
            "trainer.accelerator=cpu",
            "trainer.max_steps=3",
            "trainer.log_every_n_steps=1",
            "logger=csv",
            f"hydra.run.dir={run_dir}",
            *QUIET,
            *TINY_DCGAN,
        ],
        cwd=tmp_path,
    )
    assert "MEMBER: 2/2" in result.stderr + result.stdout
    # One run directory for both ranks, one set of outputs written by rank 0.
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    assert not (tmp_path / "logs").exists()
    assert len(read_metrics(run_dir)) == 3
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["iteration"] == 3
    assert not any(".module." in k for k in ckpt["state_dict"])  # plain modules, no DDP prefixes
    cpu_states = ckpt["random_states"]["cpu"]
    assert len(cpu_states) == 2 and not torch.equal(*cpu_states)  # each rank's own noise stream

    # Continue the same run in place, still on two processes.
    common = ["trainer.devices=2", "trainer.accelerator=cpu", "trainer.log_every_n_steps=1", "logger=csv"]
    run_train_script([*common, "trainer.max_steps=5", f"resume={run_dir}", *QUIET, *TINY_DCGAN], cwd=tmp_path)
    assert [int(row["step"]) for row in read_metrics(run_dir)] == [0, 1, 2, 3, 4]
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["iteration"] == 5


def test_gradient_penalty_runs_under_ddp(tmp_path):
    # The penalty's double backward goes through the critic's DDP wrapper.
    run_dir = tmp_path / "run"
    args = ["loss=wgan", "constraint=[gp,sn]", "trainer.devices=2", "trainer.accelerator=cpu", "trainer.max_steps=2"]
    run_train_script(
        [*args, "trainer.log_every_n_steps=1", "logger=csv", f"hydra.run.dir={run_dir}", *QUIET, *TINY_DCGAN],
        cwd=tmp_path,
    )
    rows = read_metrics(run_dir)
    assert len(rows) == 2 and all(float(r["train/penalty"]) > 0 for r in rows)


def test_parallel_multirun_sweep_gives_each_job_its_own_directory_and_wandb_run(tmp_path):
    sweep_dir = tmp_path / "sweep"
    run_train_script(
        [
            "-m",
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
            "loss=gan,wgan",
            "constraint=none,gp",
            "data=ring8",
            "trainer.max_steps=2",
            "model.generator.hidden=16",
            "model.critic.hidden=16",
            f"hydra.sweep.dir={sweep_dir}",
            *QUIET,
        ],
        cwd=tmp_path,
    )
    jobs = sorted(p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit())
    assert [p.name for p in jobs] == ["0", "1", "2", "3"]
    seen = set()
    for job in jobs:
        ckpt = torch.load(job / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
        seen.add((ckpt["config"]["loss"]["_target_"].rsplit(".", 1)[1], tuple(ckpt["config"]["constraint"])))
        assert ckpt["iteration"] == 2
        assert len(list((job / "wandb").glob("offline-run-*"))) == 1  # a W&B run per job
    assert seen == {
        ("MinimaxLoss", ()),
        ("MinimaxLoss", ("gp",)),
        ("WassersteinLoss", ()),
        ("WassersteinLoss", ("gp",)),
    }
