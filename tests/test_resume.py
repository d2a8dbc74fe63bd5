"""Exact resume (every preset, through the safe unpickler), and checkpoint files that are missing,
broken, foreign or from another run."""

import csv
import errno
import os
import re
import shutil
import tempfile
from pathlib import Path

import lightning as L
import pytest
import torch

from conftest import CONF, FAST, TINY_MLP, compose_config, run_train_script
from ganarena.errors import CheckpointError, ConfigError
from ganarena.run.build import build_run
from ganarena.run.checkpoints import AtomicCheckpointIO, read_checkpoint
from ganarena.run.csv_history import ContinuingCSVLogger
from ganarena.run.trained import load_trained
from ganarena.run.training import train

# WGAN-GP on a toy set so small that an epoch is 3 iterations: the interruption at iteration 5
# falls in the middle of the second epoch, and the gradient penalty draws random numbers too.
TOY_DATA = ["data=ring8", "data.num_samples=96"]
RUN = [
    *FAST,
    "loss=wgan",
    "constraint=gp",
    *TINY_MLP,
    "trainer.log_every_n_steps=1",
    "callbacks.samples.every_n_iterations=1000",
]


def run(tmp_path, *overrides, data=TOY_DATA):
    return train(compose_config([*RUN, *data, *overrides], tmp_path))


def logged(run_dir) -> list[dict[str, str]]:
    """Steps and training losses (Lightning's epoch column depends on where a checkpoint was taken)."""
    with open(run_dir / "csv" / "metrics.csv") as f:
        return [{k: v for k, v in row.items() if k == "step" or k.startswith("train/")} for row in csv.DictReader(f)]


def test_stopped_and_resumed_run_matches_the_uninterrupted_run(tmp_path):
    straight, interrupted = tmp_path / "straight", tmp_path / "interrupted"
    _, straight_module, _ = run(straight, "trainer.max_steps=8", "logger=wandb")
    run(interrupted, "trainer.max_steps=5", "logger=wandb")
    first_wandb = read_checkpoint(interrupted / "checkpoints" / "last.ckpt")["logger_versions"]["ClosingWandbLogger"]
    resumed = run(tmp_path / "unused", f"resume={interrupted}", "trainer.max_steps=8", "logger=wandb")
    _, resumed_module, trainer = resumed

    assert resumed_module.iteration == 8
    for name, value in straight_module.state_dict().items():
        assert torch.equal(value, resumed_module.state_dict()[name]), name
    # The resumed run wrote into the interrupted run's directory: its log is the straight log.
    assert logged(interrupted) == logged(straight)
    assert [int(row["step"]) for row in logged(straight)] == list(range(8))
    # ...and continued the same W&B run.
    assert trainer.loggers[0].version == first_wandb


def test_a_run_stopped_exactly_at_an_epoch_boundary_resumes_bit_exactly(tmp_path):
    """Stopped after the last batch of its second epoch (3 iterations each), then continued: the next
    epoch is taken whole, not cut after its first batch. Also from a periodic checkpoint at the
    first epoch's end, written inside the iteration rather than at the end of the run."""
    straight = tmp_path / "straight"
    _, straight_module, _ = run(straight, "trainer.max_steps=8", "callbacks.checkpoint.every_n_train_steps=3")
    stopped = tmp_path / "stopped"
    run(stopped, "trainer.max_steps=6")
    _, in_place, _ = run(tmp_path / "unused", f"resume={stopped}", "trainer.max_steps=8")
    periodic = straight / "checkpoints" / "iter_000003.ckpt"
    _, from_periodic, _ = run(tmp_path / "periodic", f"ckpt_path={periodic}", "trainer.max_steps=8")

    for resumed in in_place, from_periodic:
        assert resumed.iteration == 8
        for name, value in straight_module.state_dict().items():
            assert torch.equal(value, resumed.state_dict()[name]), name
    assert logged(stopped) == logged(straight)


@pytest.mark.parametrize("experiment", ["mrgan", "mdgan"])
def test_a_run_with_an_encoder_resumes_bit_exactly_mid_epoch(tmp_path, experiment):
    """The encoder, MDGAN's manifold critic (here under the run's gradient penalty) and their optimiser states."""
    stopped = tmp_path / "stopped"
    _, straight, _ = run(tmp_path / "straight", f"experiment={experiment}", "trainer.max_steps=8")
    run(stopped, f"experiment={experiment}", "trainer.max_steps=5")
    _, resumed, trainer = run(
        tmp_path / "unused", f"experiment={experiment}", f"resume={stopped}", "trainer.max_steps=8"
    )

    checkpoint = read_checkpoint(stopped / "checkpoints" / "last.ckpt")
    assert len(checkpoint["optimizer_states"]) == len(trainer.optimizers) == (4 if experiment == "mdgan" else 3)
    assert any(name.startswith("regularizers.0.encoder.") for name in checkpoint["state_dict"])
    assert resumed.iteration == 8
    for name, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[name]), name
    assert logged(stopped) == logged(tmp_path / "straight")


def preset_data(preset: str) -> list[str]:
    """Toy data and tiny MLPs; a few digits for the MLPs of a preset that augments critic inputs (images
    only); digits and narrow networks for a preset that names an image network."""
    cfg = compose_config([f"experiment={preset}", *TOY_DATA])
    if not cfg.model.generator._target_.endswith("MLPGenerator"):
        return ["data=digits", "model.generator.width=16", "model.critic.width=16", "latent_dim=16"]
    if cfg.augment._target_ != "ganarena.game.augment.NoAugment":
        return ["data=digits", "data.num_samples=96", "model=mlp", *TINY_MLP]
    return [*TOY_DATA, *TINY_MLP]


@pytest.mark.parametrize("preset", sorted(p.stem for p in (CONF / "experiment").glob("*.yaml")))
def test_every_preset_checkpoint_holds_only_plain_types_and_resumes_bit_exactly(tmp_path, preset):
    overrides = [*FAST, f"experiment={preset}", *preset_data(preset), "batch_size=16", "metrics=none"]
    overrides += ["callbacks.checkpoint.every_n_train_steps=1", "callbacks.samples.every_n_iterations=1000"]
    _, straight, _ = train(compose_config([*overrides, "trainer.max_steps=2"], tmp_path / "straight"))
    checkpoint = tmp_path / "straight" / "checkpoints" / "iter_000001.ckpt"
    # Nothing beyond torch's weights_only types: no class for the allow-list to grow by.
    assert torch.serialization.get_unsafe_globals_in_checkpoint(checkpoint) == []
    assert load_trained(checkpoint).iteration == 1
    _, resumed, _ = train(
        compose_config([*overrides, "trainer.max_steps=2", f"ckpt_path={checkpoint}"], tmp_path / "r")
    )
    assert resumed.iteration == 2
    for name, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[name]), name


def test_averaged_generator_and_linear_decay_resume_bit_exactly(tmp_path):
    """The average (started at iteration 1, so both of its branches run) and the decayed rates
    continue from iteration 2 of 4 exactly as without the interruption, optimiser states included."""
    overrides = ["ema=on", "ema.decay=0.5", "ema.start_iteration=1", "optim/schedule=linear", "trainer.max_steps=4"]
    overrides += ["callbacks.checkpoint.every_n_train_steps=1", "callbacks.checkpoint.keep_last=-1", "metrics=none"]
    _, straight, straight_trainer = run(tmp_path / "straight", *overrides)
    checkpoint = tmp_path / "straight" / "checkpoints" / "iter_000002.ckpt"
    _, resumed, resumed_trainer = run(tmp_path / "resumed", *overrides, f"ckpt_path={checkpoint}")
    assert resumed.iteration == 4
    state = straight.state_dict()
    assert any(name.startswith("generator_ema.") for name in state)
    for name, value in state.items():
        assert torch.equal(value, resumed.state_dict()[name]), name
    for ours, theirs in zip(straight_trainer.optimizers, resumed_trainer.optimizers, strict=True):
        for group, other in zip(ours.param_groups, theirs.param_groups, strict=True):
            assert (group["lr"], group["initial_lr"]) == (other["lr"], other["initial_lr"])
        for key, value in ours.state_dict()["state"].items():
            for name, tensor in value.items():
                assert torch.equal(tensor, theirs.state_dict()["state"][key][name]), (key, name)


def test_a_bf16_channels_last_run_with_a_penalty_resumes_bit_exactly(tmp_path):
    """bf16-mixed autocast and NHWC weights (channels_last=true) change no value a checkpoint misses."""
    overrides = [*FAST, "data=digits", "model.generator.width=8", "model.critic.width=8", "latent_dim=16"]
    overrides += ["trainer.precision=bf16-mixed", "channels_last=true", "constraint=[r1]", "metrics=none"]
    overrides += [
        "trainer.max_steps=3",
        "callbacks.checkpoint.every_n_train_steps=1",
        "callbacks.checkpoint.keep_last=-1",
    ]
    _, straight, _ = train(compose_config(overrides, tmp_path / "straight"))
    checkpoint = tmp_path / "straight" / "checkpoints" / "iter_000001.ckpt"
    _, resumed, _ = train(compose_config([*overrides, f"ckpt_path={checkpoint}"], tmp_path / "resumed"))
    assert resumed.iteration == 3
    for name, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[name]), name
    assert all(p.is_contiguous(memory_format=torch.channels_last) for p in resumed.parameters() if p.dim() == 4)


def test_resume_auto_starts_afresh_then_continues_in_the_same_directory(tmp_path):
    _, module, _ = run(tmp_path, "resume=auto", "trainer.max_steps=2")
    assert module.iteration == 2
    _, module, _ = run(tmp_path, "resume=auto", "trainer.max_steps=4")
    assert module.iteration == 4
    assert [int(row["step"]) for row in logged(tmp_path)] == [0, 1, 2, 3]


@pytest.fixture(scope="module")
def saved_checkpoint(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("saved")
    run(run_dir, "trainer.max_steps=1")
    return run_dir / "checkpoints" / "last.ckpt"


def test_missing_checkpoint_is_named(tmp_path):
    with pytest.raises(CheckpointError, match=r"nowhere\.ckpt does not exist"):
        run(tmp_path, f"ckpt_path={tmp_path / 'nowhere.ckpt'}")
    with pytest.raises(CheckpointError, match=r"checkpoints/last\.ckpt does not exist"):
        run(tmp_path, f"resume={tmp_path / 'no_run'}")


def test_truncated_checkpoint_is_named(saved_checkpoint, tmp_path):
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(saved_checkpoint.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match=r"truncated\.ckpt cannot be read .*truncated or not a PyTorch"):
        run(tmp_path, f"ckpt_path={truncated}")


def test_foreign_checkpoint_is_refused(tmp_path):
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(CheckpointError, match=r"foreign\.pt was not written by ganarena.*state_dict, iteration"):
        run(tmp_path, f"ckpt_path={foreign}")


def test_checkpoint_of_another_configuration_is_refused(saved_checkpoint, tmp_path):
    with pytest.raises(CheckpointError, match=r"another loss\._target_, model\.critic\.hidden than this one"):
        run(tmp_path, f"ckpt_path={saved_checkpoint}", "loss=hinge", "model.critic.hidden=64")
    # Same settings, other data: the networks no longer fit.
    with pytest.raises(CheckpointError, match=r"networks of another shape .*generator\.net"):
        run(tmp_path, f"ckpt_path={saved_checkpoint}", data=["data=digits", "model=mlp"])


def test_checkpoint_write_is_atomic(saved_checkpoint, tmp_path, monkeypatch):
    target = tmp_path / "last.ckpt"
    target.write_bytes(saved_checkpoint.read_bytes())
    good = target.read_bytes()

    def crash_mid_write(obj, file):
        file.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash_mid_write)
    with pytest.raises(CheckpointError, match=re.escape(f"cannot write checkpoint {target} (disk full)")):
        AtomicCheckpointIO().save_checkpoint({"state_dict": {}}, target)
    assert target.read_bytes() == good
    assert os.listdir(tmp_path) == ["last.ckpt"]  # no partial file left behind
    monkeypatch.undo()
    AtomicCheckpointIO().save_checkpoint({"iteration": 7}, target)
    assert torch.load(target)["iteration"] == 7


def test_a_run_saves_through_the_atomic_writer(tmp_path):
    _, _, trainer = build_run(compose_config([*RUN, *TOY_DATA], tmp_path))
    assert isinstance(trainer.strategy.checkpoint_io, AtomicCheckpointIO)


def _written_file(function: str, args: tuple) -> str:
    """The name of the file an os.replace (its destination) or an os.fsync (its descriptor's file) writes."""
    return Path(args[1] if function == "replace" else os.readlink(f"/proc/self/fd/{args[0]}")).name


@pytest.mark.parametrize("function", ["replace", "fsync"])
def test_a_save_failing_inside_a_real_run_leaves_last_ckpt_intact(function, tmp_path, monkeypatch):
    # The second write of last.ckpt (iteration 2) fails in its rename, or in the sync of its temporary file.
    original, last_writes = getattr(os, function), []

    def failing_on_the_second_last_ckpt(*args):
        name = _written_file(function, args)
        if name == "last.ckpt" or name.startswith(".last.ckpt."):
            last_writes.append(name)
            if len(last_writes) == 2:
                raise OSError(f"injected {function} failure")
        return original(*args)

    monkeypatch.setattr(os, function, failing_on_the_second_last_ckpt)
    with pytest.raises(CheckpointError, match=f"cannot write checkpoint .*last.ckpt \\(injected {function} failure\\)"):
        run(tmp_path, "trainer.max_steps=2", "callbacks.checkpoint.every_n_train_steps=1")
    checkpoints = tmp_path / "checkpoints"
    assert read_checkpoint(checkpoints / "last.ckpt")["iteration"] == 1  # whole, and the one before the failure
    # No temporary file left behind.
    assert sorted(p.name for p in checkpoints.iterdir()) == ["iter_000001.ckpt", "iter_000002.ckpt", "last.ckpt"]


def test_train_script_reports_a_bad_checkpoint_in_one_line(tmp_path):
    result = run_train_script(["logger=csv", f"ckpt_path={tmp_path / 'gone.ckpt'}"], cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert f"error: checkpoint {tmp_path / 'gone.ckpt'} does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_seed_makes_a_cpu_run_repeatable(tmp_path):
    weights = {}
    for name, seed in (("first", 3), ("again", 3), ("other", 4)):
        _, module, _ = run(tmp_path / name, "trainer.max_steps=3", f"seed={seed}")
        weights[name] = module.state_dict()
    assert all(torch.equal(weights["first"][k], weights["again"][k]) for k in weights["first"])
    assert logged(tmp_path / "first") == logged(tmp_path / "again")
    assert logged(tmp_path / "first") != logged(tmp_path / "other")


# The CSV history across restarts: every row of an uninterrupted run, evaluations included.
EVALUATED = ["metrics.toy_modes.every_n_iterations=2", "metrics.toy_modes.num_samples=200"]


def history(run_dir) -> list[dict[str, str]]:
    """Every row but Lightning's epoch column, empty cells left out, in file order."""
    with open(run_dir / "csv" / "metrics.csv") as f:
        return [{k: v for k, v in row.items() if v and k != "epoch"} for row in csv.DictReader(f)]


def kinds(rows) -> list[str]:
    return [row["step"] + (" val" if "val/modes_captured" in row else "") for row in rows]


@pytest.fixture(scope="module")
def straight_history(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("straight")
    run(run_dir, "trainer.max_steps=6", *EVALUATED)
    return history(run_dir)


def test_uninterrupted_history_has_the_evaluation_rows(straight_history):
    assert kinds(straight_history) == ["0", "1", "2 val", "2", "3", "4 val", "4", "5", "6 val"]


def test_resume_at_an_evaluation_iteration_keeps_every_row_of_the_uninterrupted_run(tmp_path, straight_history):
    run(tmp_path, "trainer.max_steps=2", *EVALUATED)
    run(tmp_path, "resume=auto", "trainer.max_steps=6", *EVALUATED)
    assert history(tmp_path) == straight_history


def test_resume_between_evaluations_adds_only_the_end_of_run_evaluation(tmp_path, straight_history):
    """A run that ends at iteration 5 is evaluated there (its end); that row stays, nothing else differs."""
    run(tmp_path, "trainer.max_steps=5", *EVALUATED)
    run(tmp_path, "resume=auto", "trainer.max_steps=6", *EVALUATED)
    resumed = history(tmp_path)
    assert kinds(resumed) == ["0", "1", "2 val", "2", "3", "4 val", "4", "5 val", "5", "6 val"]
    assert resumed[:7] + resumed[8:] == straight_history


@pytest.mark.parametrize(
    "again",
    [
        ["resume=auto"],  # the issue's command pair: a finished run started again
        ["resume=auto", "trainer.max_steps=4"],  # asked for fewer iterations than the checkpoint has
        ["ckpt_path=CKPT"],  # the finished checkpoint, in place
    ],
)
def test_a_resumed_run_that_trains_nothing_leaves_the_history_as_it_was(tmp_path, straight_history, again):
    run(tmp_path, "trainer.max_steps=6", *EVALUATED)
    before = (tmp_path / "csv" / "metrics.csv").read_bytes(), (tmp_path / "csv" / "hparams.yaml").read_bytes()
    again = [a.replace("CKPT", str(tmp_path / "checkpoints" / "last.ckpt")) for a in again]
    _, module, _ = run(tmp_path, "trainer.max_steps=6", *EVALUATED, *again)
    assert module.iteration == 6  # nothing trained
    assert ((tmp_path / "csv" / "metrics.csv").read_bytes(), (tmp_path / "csv" / "hparams.yaml").read_bytes()) == before
    assert history(tmp_path) == straight_history


def test_evaluation_at_a_checkpoint_iteration_is_logged_before_the_checkpoint_counts_rows(tmp_path):
    run(tmp_path, "trainer.max_steps=3", "callbacks.checkpoint.every_n_train_steps=2", *EVALUATED)
    checkpoint = read_checkpoint(tmp_path / "checkpoints" / "iter_000002.ckpt")
    assert kinds(history(tmp_path)[: checkpoint["csv_rows"]]) == ["0", "1", "2 val"]


def test_rows_after_the_checkpoint_are_replaced_not_duplicated(tmp_path, straight_history):
    """The interrupted process logged past its checkpoint (iteration 2) up to step 4 before it died."""
    run(tmp_path, "trainer.max_steps=5", "callbacks.checkpoint.every_n_train_steps=2", *EVALUATED)
    shutil.copy(tmp_path / "checkpoints" / "iter_000002.ckpt", tmp_path / "checkpoints" / "last.ckpt")
    run(tmp_path, "resume=auto", "trainer.max_steps=6", *EVALUATED)
    assert history(tmp_path) == straight_history


class Killed(Exception):
    pass


def test_crash_after_a_checkpoint_leaves_no_gap(tmp_path, straight_history, monkeypatch):
    """The CSV reaches the disk with every checkpoint, not only every flush_logs_every_n_steps rows."""
    cfg = compose_config(
        [*RUN, *TOY_DATA, "trainer.max_steps=6", "callbacks.checkpoint.every_n_train_steps=3", *EVALUATED], tmp_path
    )
    L.seed_everything(cfg.seed, workers=True)  # as fit.train does
    datamodule, module, trainer = build_run(cfg)

    def crash(*args, **kwargs):
        if module.iteration == 4:
            raise Killed  # stands in for SIGKILL: nothing below this point reaches the disk

    module.on_train_batch_start = crash
    monkeypatch.setattr(ContinuingCSVLogger, "finalize", lambda self, status: None)  # a killed process saves nothing
    with pytest.raises(Killed):
        trainer.fit(module, datamodule=datamodule)
    assert kinds(history(tmp_path)) == ["0", "1", "2 val", "2"]  # on disk at the checkpoint of iteration 3
    monkeypatch.undo()
    run(tmp_path, "resume=auto", "trainer.max_steps=6", *EVALUATED)
    assert history(tmp_path) == straight_history


def test_checkpoint_without_a_row_count_keeps_the_rows_up_to_its_iteration(tmp_path, straight_history):
    """Checkpoints written before rows were counted: training rows before, evaluations up to, its iteration."""
    run(tmp_path, "trainer.max_steps=5", "callbacks.checkpoint.every_n_train_steps=2", *EVALUATED)
    checkpoint = torch.load(tmp_path / "checkpoints" / "iter_000004.ckpt", weights_only=False)
    del checkpoint["csv_rows"]
    torch.save(checkpoint, tmp_path / "checkpoints" / "last.ckpt")
    run(tmp_path, "resume=auto", "trainer.max_steps=6", *EVALUATED)
    assert history(tmp_path) == straight_history


@pytest.mark.parametrize(
    ("fault", "cause"),
    [
        ("write", "No space left on device"),  # the disk fills up while the file is written
        ("create", "Permission denied"),  # the temporary file cannot even be created
    ],
)
def test_unwritable_checkpoint_stops_the_run_and_keeps_the_last_good_one(tmp_path, monkeypatch, fault, cause):
    real_save, real_mkstemp = torch.save, tempfile.mkstemp

    def full_disk(obj, file):
        if obj["iteration"] == 4:
            file.write(b"half a checkpoint")
            raise OSError(errno.ENOSPC, cause)
        real_save(obj, file)

    def read_only_directory(*args, **kwargs):
        if (tmp_path / "checkpoints" / "last.ckpt").exists():
            raise PermissionError(errno.EACCES, cause)
        return real_mkstemp(*args, **kwargs)

    if fault == "write":
        monkeypatch.setattr(torch, "save", full_disk)
    else:
        monkeypatch.setattr(tempfile, "mkstemp", read_only_directory)
    with pytest.raises(CheckpointError) as error:
        run(tmp_path, "trainer.max_steps=6", "callbacks.checkpoint.every_n_train_steps=2")
    failed = tmp_path / "checkpoints" / "iter_000004.ckpt"
    assert str(error.value).startswith(f"cannot write checkpoint {failed} ({cause}); the run stopped")
    monkeypatch.undo()
    assert read_checkpoint(tmp_path / "checkpoints" / "last.ckpt")["iteration"] == 2
    assert sorted(os.listdir(tmp_path / "checkpoints")) == ["iter_000002.ckpt", "last.ckpt"]  # no partial file


def checkpoint_files(run_dir) -> list[str]:
    return sorted(p.name for p in (run_dir / "checkpoints").iterdir())


def test_only_the_last_periodic_checkpoints_are_kept_across_a_resume(tmp_path):
    every_one = ["callbacks.checkpoint.every_n_train_steps=1", "callbacks.checkpoint.keep_last=3"]
    run(tmp_path, "trainer.max_steps=5", *every_one)
    assert checkpoint_files(tmp_path) == ["iter_000003.ckpt", "iter_000004.ckpt", "iter_000005.ckpt", "last.ckpt"]
    (tmp_path / "checkpoints" / "best.ckpt").write_bytes(b"an evaluation's best")
    (tmp_path / "checkpoints" / ".last.ckpt.abc.partial").write_bytes(b"left by a killed save")
    run(tmp_path, "resume=auto", "trainer.max_steps=7", *every_one)
    # The resumed run goes on ranking the first process's files: 3 and 4 go, its own 6 and 7 come.
    assert checkpoint_files(tmp_path) == [
        "best.ckpt",
        "iter_000005.ckpt",
        "iter_000006.ckpt",
        "iter_000007.ckpt",
        "last.ckpt",
    ]
    assert read_checkpoint(tmp_path / "checkpoints" / "last.ckpt")["iteration"] == 7


def test_keep_last_minus_one_keeps_every_periodic_checkpoint(tmp_path):
    run(
        tmp_path,
        "trainer.max_steps=4",
        "callbacks.checkpoint.every_n_train_steps=1",
        "callbacks.checkpoint.keep_last=-1",
    )
    assert checkpoint_files(tmp_path) == [f"iter_00000{i}.ckpt" for i in range(1, 5)] + ["last.ckpt"]


def test_keep_last_below_minus_one_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"keep_last must be -1 \(keep all\) or a count >= 0, got -2"):
        run(tmp_path, "trainer.max_steps=1", "callbacks.checkpoint.keep_last=-2")


def test_the_issues_command_pair_keeps_every_row(tmp_path):
    """`train.py ... resume=auto` twice on a finished run: the second trains nothing and deletes nothing."""
    args = [
        "experiment=gan_qp",
        "data=grid25",
        "logger=csv",
        *TINY_MLP,
        "trainer.max_steps=20",
        "metrics.toy_modes.every_n_iterations=10",
        "metrics.toy_modes.num_samples=200",
        "trainer.log_every_n_steps=5",
        "hydra.run.dir=logs/rerun",
        "resume=auto",
    ]
    run_train_script(args, cwd=tmp_path)
    csv_dir = tmp_path / "logs" / "rerun" / "csv"
    first = {name: (csv_dir / name).read_bytes() for name in ("metrics.csv", "hparams.yaml")}
    assert kinds(history(tmp_path / "logs" / "rerun")) == ["4", "9", "10 val", "14", "19", "20 val"]
    run_train_script(args, cwd=tmp_path)
    assert {name: (csv_dir / name).read_bytes() for name in ("metrics.csv", "hparams.yaml")} == first


def test_resume_is_bit_exact_with_a_lazy_penalty_and_adaptive_augmentation(tmp_path):
    """R1 every 3 critic updates (2 per iteration) and ADA's p adjusted every 3: the interruption at
    iteration 4 falls between two due penalties and inside an open window of the heuristic."""
    overrides = [
        "data.num_samples=48",  # 3 iterations an epoch: the interruption falls inside the second
        "model=mlp",
        "model.generator.hidden=16",
        "model.critic.hidden=16",
        "latent_dim=8",
        "batch_size=8",
        "loss=rasgan",
        "constraint=[r1]",
        "constraint.r1.every=3",
        "augment=ada",
        "augment.speed_images=64",
        "augment.interval=3",
        "augment.initial_p=0.5",
        "metrics=none",
    ]
    straight, interrupted, digits = tmp_path / "straight", tmp_path / "interrupted", ["data=digits"]
    _, straight_module, _ = run(straight, "trainer.max_steps=6", *overrides, data=digits)
    run(interrupted, "trainer.max_steps=4", *overrides, data=digits)
    saved = read_checkpoint(interrupted / "checkpoints" / "last.ckpt")["state_dict"]
    assert saved["augment.window"][2].item() == 2  # 8 observations, 2 of them in the open window
    _, resumed_module, _ = run(tmp_path / "r", f"resume={interrupted}", "trainer.max_steps=6", *overrides, data=digits)

    for name, value in straight_module.state_dict().items():
        assert torch.equal(value, resumed_module.state_dict()[name]), name
    assert logged(interrupted) == logged(straight)
    p = [float(row["train/augment_p"]) for row in logged(straight)]
    assert len(set(p)) > 1  # p moved: the adaptive state was exercised
    penalties = [float(row["train/penalty"]) for row in logged(straight)]
    # Critic updates 2i and 2i+1 in iteration i; R1 due on updates 0, 3, 6, 9: none in iterations 2 and 5.
    assert [value > 0 for value in penalties] == [True, True, False, True, True, False]


def test_a_compiled_run_resumes_exactly_as_the_straight_compiled_run(tmp_path):
    """compile=true: the same compiled kernels, noise and random states after a restart (WGAN-GP: eager penalty)."""
    stopped = tmp_path / "stopped"
    _, straight, _ = run(tmp_path / "straight", "compile=true", "trainer.max_steps=4")
    run(stopped, "compile=true", "trainer.max_steps=2")
    _, resumed, _ = run(tmp_path / "unused", "compile=true", f"resume={stopped}", "trainer.max_steps=4")
    assert resumed.iteration == 4
    for name, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[name]), name
    assert logged(stopped) == logged(tmp_path / "straight")
