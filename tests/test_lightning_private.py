"""The private Lightning names ganarena relies on still exist, each named when one is gone."""

import inspect
from pathlib import Path

import pytest

from conftest import FAST, TINY_MLP, compose_config
from ganarena.run.checkpoints import read_checkpoint
from ganarena.run.lightning_private import CHECKPOINT_LOOP_KEYS, PRIVATE_NAMES
from ganarena.run.training import train


def _present(owner: type, name: str) -> bool:
    if hasattr(owner, name):
        return True
    # Attributes set in __init__ live on instances only: look for the assignment in the source.
    return any(f"self.{name} =" in inspect.getsource(cls) for cls in owner.__mro__ if cls.__module__ != "builtins")


@pytest.mark.parametrize(("owner", "name"), PRIVATE_NAMES, ids=[f"{o.__name__}.{n}" for o, n in PRIVATE_NAMES])
def test_private_lightning_name_still_exists(owner, name):
    assert _present(owner, name), (
        f"Lightning no longer has {owner.__module__}.{owner.__name__}.{name}: update ganarena/run/lightning_private.py"
    )


def test_no_other_module_uses_these_private_names():
    """Only lightning_private.py (and the strategy's override) may touch them, so an upgrade has one place to fix."""
    src = Path(__file__).resolve().parents[1] / "src" / "ganarena"
    allowed = {"lightning_private.py"}
    offenders = []
    for path in src.rglob("*.py"):
        if path.name in allowed:
            continue
        text = path.read_text()
        for _owner, name in PRIVATE_NAMES:
            uses = text.count(f".{name}") + text.count(f"def {name}(")
            if name == "_setup_model" and path.name == "strategy.py":
                uses -= text.count(f"def {name}(")
            if uses:
                offenders.append(f"{path.relative_to(src)} uses {name}")
    assert offenders == []


def test_checkpoints_still_keep_the_epoch_loop_counters_where_ganarena_reads_them(tmp_path):
    train(compose_config([*FAST, *TINY_MLP, "data=ring8", "data.num_samples=64", "trainer.max_steps=2"], tmp_path))
    progress = read_checkpoint(tmp_path / "checkpoints" / "last.ckpt")
    for key in CHECKPOINT_LOOP_KEYS:
        assert key in progress, f"Lightning's checkpoint lost {key!r}: update ganarena/run/lightning_private.py"
        progress = progress[key]
    assert progress["is_last_batch"] is True  # 2 batches of 32 make the whole epoch
    assert set(progress["current"]) == {"ready", "started", "processed", "completed"}
