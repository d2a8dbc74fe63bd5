"""Checkpoints and exports from someone else: opening one with any entry point runs no code.

Every file here is crafted by the test: a real checkpoint with a pickled shell command added, a
stored config naming a class outside conf/, a config missing a section, an interpolation.
"""

import os
import re
import shutil
import sys

import pytest
import torch

from conftest import CONF, FAST, TINY_MLP, compose_config, run_train_script
from ganarena.errors import CheckpointError
from ganarena.run.build import build_run
from ganarena.run.checkpoints import AtomicCheckpointIO, load_untrusted
from ganarena.run.sharing import read_export, write_export
from ganarena.run.stored_config import checked_config, conf_targets
from ganarena.run.training import train
from test_eval_sample import load_script

TOY = [*FAST, "data=ring8", "data.num_samples=96", *TINY_MLP, "metrics=none"]
SYSTEM = f"{os.system.__module__}.system"  # the name pickle records: posix.system on Linux


class ShellCommand:
    """Unpickled without care, this runs `touch MARKER`."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.fixture(scope="module")
def real_checkpoint(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("real")
    train(compose_config([*TOY, "trainer.max_steps=1"], run_dir))
    return run_dir / "checkpoints" / "last.ckpt"


def craft(real_checkpoint, path, marker, **legacy):
    """The real checkpoint plus a pickled shell command; proven live by an unsafe load of a copy."""
    checkpoint = torch.load(real_checkpoint, weights_only=True)
    checkpoint["notes"] = ShellCommand(marker)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path, **legacy)
    control = path.with_name("control_marker")
    torch.save({"notes": ShellCommand(control)}, path.with_name("control.pt"), **legacy)
    torch.load(path.with_name("control.pt"), weights_only=False)
    assert control.exists(), "the crafted payload must run when unpickled unsafely"
    return path


def with_config(real_checkpoint, path, edit):
    """The real checkpoint with its stored config changed by `edit(config)`."""
    checkpoint = torch.load(real_checkpoint, weights_only=True)
    edit(checkpoint["config"])
    torch.save(checkpoint, path)
    return path


def run_main(script: str, monkeypatch, *args) -> str:
    """Call an entry point's main() as the shell would; return its one-line error."""
    monkeypatch.setattr(sys, "argv", [f"{script}.py", *args])
    with pytest.raises(SystemExit) as stop:
        load_script(script).main()
    return str(stop.value.code)


ENTRY_POINTS = {
    "eval": lambda path, tmp: ["eval", f"ckpt_path={path}", f"output={tmp}/m.json"],
    "sample": lambda path, tmp: ["sample", f"ckpt_path={path}", f"output={tmp}/s.npy"],
    "export": lambda path, tmp: ["export", f"ckpt_path={path}", f"output={tmp}/g.safetensors"],
}


@pytest.mark.parametrize("script", sorted(ENTRY_POINTS))
def test_pickled_command_runs_in_no_script_and_is_named(real_checkpoint, tmp_path, monkeypatch, script):
    marker = tmp_path / "marker"
    crafted = craft(real_checkpoint, tmp_path / "shared.ckpt", marker)
    name, *args = ENTRY_POINTS[script](crafted, tmp_path)
    message = run_main(name, monkeypatch, *args)
    assert message.startswith(f"error: checkpoint {crafted} holds objects of type {SYSTEM}")
    assert "not a ganarena checkpoint, or not one to trust" in message
    assert not marker.exists()


def test_pickled_command_runs_neither_in_train_script_nor_on_resume(real_checkpoint, tmp_path):
    marker = tmp_path / "marker"
    crafted = craft(real_checkpoint, tmp_path / "shared.ckpt", marker)
    result = run_train_script(["logger=csv", f"ckpt_path={crafted}"], cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert f"error: checkpoint {crafted} holds objects of type {SYSTEM}" in result.stderr
    assert "Traceback" not in result.stderr
    run_dir = tmp_path / "run"
    craft(real_checkpoint, run_dir / "checkpoints" / "last.ckpt", marker)
    with pytest.raises(CheckpointError, match=f"holds objects of type {SYSTEM}"):
        train(compose_config([*TOY, f"resume={run_dir}"], tmp_path / "unused"))
    assert not marker.exists()


def test_lightning_restore_reads_through_the_safe_loader(real_checkpoint, tmp_path):
    """trainer.fit(ckpt_path=) without our read_checkpoint before it: the checkpoint IO plugin refuses."""
    marker = tmp_path / "marker"
    crafted = craft(real_checkpoint, tmp_path / "shared.ckpt", marker)
    datamodule, module, trainer = build_run(compose_config([*TOY, "trainer.max_steps=2"], tmp_path))
    with pytest.raises(CheckpointError, match=f"holds objects of type {SYSTEM}"):
        trainer.fit(module, datamodule=datamodule, ckpt_path=crafted)
    # Even when asked for the unsafe unpickler.
    with pytest.raises(CheckpointError, match=f"holds objects of type {SYSTEM}"):
        AtomicCheckpointIO().load_checkpoint(crafted, weights_only=False)
    assert not marker.exists()


def test_legacy_format_pickle_is_refused_too(real_checkpoint, tmp_path):
    marker = tmp_path / "marker"
    crafted = craft(real_checkpoint, tmp_path / "old.pt", marker, _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError, match=rf"old\.pt holds objects of type {SYSTEM}, which a ganarena"):
        load_untrusted(crafted)
    assert not marker.exists()


def test_stored_target_outside_conf_is_refused_before_anything_is_built(real_checkpoint, tmp_path):
    made = tmp_path / "made_by_the_file"

    def point_data_at_makedirs(config):
        config["data"] = {"_target_": "os.makedirs", "name": str(made)}

    crafted = with_config(real_checkpoint, tmp_path / "target.ckpt", point_data_at_makedirs)
    sample, evaluate = load_script("sample"), load_script("eval").evaluate
    expected = r"stored config asks to build 'os\.makedirs' at data\._target_, which is not a class of ganarena's conf/"
    with pytest.raises(CheckpointError, match=expected):
        sample.write(sample.parse([f"ckpt_path={crafted}", f"output={tmp_path}/s.npy"]))
    with pytest.raises(CheckpointError, match=expected):
        evaluate([f"ckpt_path={crafted}"])
    # The same config in an exported file (its tensors are safe; its config is not trusted more).
    checkpoint = torch.load(crafted, weights_only=True)
    exported = tmp_path / "target.safetensors"
    state = {k.removeprefix("generator."): v for k, v in checkpoint["state_dict"].items() if k.startswith("generator.")}
    write_export(exported, state, checkpoint["config"], 1)
    with pytest.raises(CheckpointError, match=expected):
        sample.write(sample.parse([f"ckpt_path={exported}", f"output={tmp_path}/s.npy"]))
    # Nested, in a list, under a section eval.py and sample.py would build later: refused all the same.
    nested = with_config(
        real_checkpoint,
        tmp_path / "nested.ckpt",
        lambda c: c["model"]["generator"].update(extra=[{"_target_": "builtins.exec", "_args_": ["1"]}]),
    )
    with pytest.raises(CheckpointError, match=r"'builtins\.exec' at model\.generator\.extra\.0\._target_"):
        evaluate([f"ckpt_path={nested}"])
    assert not made.exists()


def test_a_stored_network_file_is_opened_only_when_the_user_names_it(real_checkpoint, tmp_path):
    """TorchScript backbones are programs: a weights_path from the file is refused, one on the command line is not."""
    planted = tmp_path / "planted.pt"

    def name_a_backbone_file(config):
        config["metrics"] = {"fid": {"backbone": {"_target_": "ganarena.metrics.inception.InceptionV3"}}}
        config["metrics"]["fid"]["backbone"]["weights_path"] = str(planted)

    crafted = with_config(real_checkpoint, tmp_path / "backbone.ckpt", name_a_backbone_file)
    key = "metrics.fid.backbone.weights_path"
    with pytest.raises(
        CheckpointError, match=rf"loads the network file '{re.escape(str(planted))}' \({key}\).*add {key}="
    ):
        load_script("eval").evaluate([f"ckpt_path={crafted}"])
    stored = torch.load(crafted, weights_only=True)["config"]
    assert checked_config(stored, crafted, ignored=[key])["metrics"]["fid"]["backbone"] == {
        "_target_": "ganarena.metrics.inception.InceptionV3"
    }


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c.pop("model"), r"stored config lacks model \(or it is not a dict\)"),
        (lambda c: c["optim"].pop("critic"), r"stored config lacks optim\.critic"),
        (lambda c: c.update(loss="hinge"), r"stored config lacks loss \(or it is not a dict\)"),
        (lambda c: c.update(trainer=[1]), r"stored config has a malformed trainer"),
        (lambda c: c["data"].update(root="${oc.env:HOME}"), r"stored config has an interpolation at data\.root"),
    ],
)
def test_missing_or_malformed_config_section_is_one_line(real_checkpoint, tmp_path, monkeypatch, edit, message):
    crafted = with_config(real_checkpoint, tmp_path / "partial.ckpt", edit)
    for script in ("eval", "sample"):
        name, *args = ENTRY_POINTS[script](crafted, tmp_path)
        assert re.search(
            f"^error: checkpoint {re.escape(str(crafted))}: its {message}", run_main(name, monkeypatch, *args)
        )


def test_exported_file_that_is_not_safetensors_is_refused(tmp_path):
    fake = tmp_path / "gen.safetensors"
    shutil.copy(__file__, fake)
    with pytest.raises(CheckpointError, match=r"cannot be read as a \.safetensors file"):
        read_export(fake)
    write_export(fake, {"w": torch.zeros(2)}, {}, 0)
    fake.write_bytes(fake.read_bytes().replace(b"ganarena-generator", b"someone-elses-form"))
    with pytest.raises(CheckpointError, match=r"is not a ganarena export \(format 'someone-elses-form'"):
        read_export(fake)


def test_every_target_in_conf_is_allowed_and_nothing_else():
    written = set()
    for file in CONF.rglob("*.yaml"):
        written |= set(re.findall(r"_target_:\s*([\w.]+)", file.read_text()))
    assert conf_targets() == written
    assert {"torch.optim.Adam", "ganarena.models.dcgan.DCGANGenerator", "ganarena.data.toy.ToyDataModule"} <= written


def test_a_checkpoint_from_before_the_modules_moved_still_opens_and_resumes(real_checkpoint, tmp_path, monkeypatch):
    """Stored targets under ganarena.losses / .constraints (the old layout) name today's classes, and a
    config without the sections added since (model.encoder, regularizer) still continues."""

    def old_layout(config):
        del config["model"]["encoder"], config["regularizer"]  # keys that came later
        config["loss"]["_target_"] = config["loss"]["_target_"].replace("ganarena.game.losses.", "ganarena.losses.")
        for node in config["callbacks"].values():
            node["_target_"] = node["_target_"].replace("ganarena.run.callbacks.", "ganarena.callbacks.")

    old = with_config(real_checkpoint, tmp_path / "old.ckpt", old_layout)
    assert torch.load(old, weights_only=True)["config"]["loss"]["_target_"].startswith("ganarena.losses.")
    output = tmp_path / "s.npy"
    monkeypatch.setattr(sys, "argv", ["sample.py", f"ckpt_path={old}", f"output={output}"])
    load_script("sample").main()
    assert output.is_file()
    _, module, _ = train(compose_config([*TOY, "trainer.max_steps=2", f"ckpt_path={old}"], tmp_path / "resumed"))
    assert module.iteration == 2
