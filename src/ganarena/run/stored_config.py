"""A config stored in a checkpoint or an export is data, not code: checked before anything is built.

    config = checked_config(checkpoint["config"], path)   # CheckpointError, or a copy safe to instantiate

`checked_config` refuses any `_target_` that conf/ does not name (`conf_targets`, read from the
yaml files at run time), interpolations, missing or malformed sections, and a network file to
load (`weights_path`: TorchScript files are programs) that the caller did not name itself, so
eval.py and sample.py instantiate only ganarena's own classes and open only the user's files.
`with_current_targets` renames the targets of checkpoints written before ganarena's modules
moved into game/ and run/.
"""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from ganarena.errors import CheckpointError

CONF_DIR = Path(__file__).resolve().parents[3] / "conf"
# What eval.py and sample.py build from a stored config, so what must be there, and as what.
REQUIRED_SECTIONS = {
    "data": dict,
    "model": dict,
    "model.generator": dict,
    "model.critic": dict,
    "loss": dict,
    "optim": dict,
    "optim.generator": dict,
    "optim.critic": dict,
    "n_critic": int,
}
# Sections read when present: absent or null is fine, anything but a mapping is not.
OPTIONAL_SECTIONS = ("constraint", "regularizer", "augment", "metrics", "trainer", "paths")

# Keys that name a file holding code (TorchScript backbones), followed only when the user names it.
CODE_FILE_KEYS = ("weights_path",)

# Where classes named by older checkpoints live now.
MOVED_MODULES = {
    "ganarena.losses.": "ganarena.game.losses.",
    "ganarena.constraints.": "ganarena.game.constraints.",
    "ganarena.callbacks.": "ganarena.run.callbacks.",
    "ganarena.loggers.": "ganarena.run.loggers.",
}


def checked_config(config: Mapping[str, Any], path: str | os.PathLike, ignored: Iterable[str] = ()) -> dict:
    """A copy of a stored config that is safe to instantiate, or CheckpointError saying what is wrong.

    `ignored`: dotted keys the caller sets itself or never uses (eval.py's command-line metrics
    overrides, sample.py's metrics); they are removed from the copy, unchecked.
    """
    config = copy.deepcopy(dict(config))
    for key in ignored:
        parent, _, last = key.rpartition(".")
        node = _node(config, parent) if parent else config
        if isinstance(node, dict):
            node.pop(last, None)
    for section, kind in REQUIRED_SECTIONS.items():
        if not isinstance(_node(config, section), kind):
            raise CheckpointError(
                f"checkpoint {path}: its stored config lacks {section} (or it is not a {kind.__name__});"
                " the file is not a complete ganarena checkpoint. Use a checkpoint or export written by ganarena"
            )
    for section in OPTIONAL_SECTIONS:
        if not isinstance(config.get(section), dict | None):
            raise CheckpointError(
                f"checkpoint {path}: its stored config has a malformed {section} (not a mapping);"
                " the file was not written by ganarena. Use a checkpoint or export written by ganarena"
            )
    allowed = conf_targets()
    for key, value in _entries(config):
        if isinstance(value, str) and "${" in value:
            raise CheckpointError(
                f"checkpoint {path}: its stored config has an interpolation at {key} ({value!r}); ganarena stores"
                " resolved configs, so the file was altered. Use a checkpoint or export written by ganarena"
            )
        if key.rsplit(".", 1)[-1] == "_target_" and not (isinstance(value, str) and value in allowed):
            raise CheckpointError(
                f"checkpoint {path}: its stored config asks to build {value!r} at {key}, which is not a class"
                " of ganarena's conf/; refused, nothing was built. The file is not a ganarena checkpoint or not"
                " one to trust (a metrics class of your own is given on eval.py's command line: KEY=CLASS)"
            )
        if key.rsplit(".", 1)[-1] in CODE_FILE_KEYS and value is not None:
            raise CheckpointError(
                f"checkpoint {path}: its stored config loads the network file {value!r} ({key}); such a file can"
                f" run code, so it is opened only when you name it: add {key}={value} to eval.py's command line"
                " (or metrics=auto for the standard network)"
            )
    return config


@functools.cache
def conf_targets() -> frozenset[str]:
    """Every `_target_` that a file under conf/ names: what a stored config may ask to build."""
    if not CONF_DIR.is_dir():
        raise CheckpointError(f"{CONF_DIR} is missing; checkpoints are opened from a ganarena checkout")
    targets = set()
    for file in CONF_DIR.rglob("*.yaml"):
        content = OmegaConf.to_container(OmegaConf.load(file), resolve=False)
        targets |= {value for key, value in _entries(content) if key.rsplit(".", 1)[-1] == "_target_"}
    return frozenset(targets)


def _node(config: dict, dotted: str) -> Any:
    node = config
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _entries(node: Any, prefix: str = "") -> Iterable[tuple[str, Any]]:
    """(dotted key, value) of every leaf and node under `node`, through dicts and lists."""
    items = node.items() if isinstance(node, Mapping) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        name = f"{prefix}.{key}" if prefix else str(key)
        yield name, value
        yield from _entries(value, name)


def with_current_targets(config: Any) -> Any:
    """`config` with every `_target_` under a moved module renamed to where the class lives now."""
    if isinstance(config, Mapping):
        return {
            key: _current_target(value) if key == "_target_" else with_current_targets(value)
            for key, value in config.items()
        }
    if isinstance(config, list):
        return [with_current_targets(value) for value in config]
    return config


def _current_target(target: Any) -> Any:
    if isinstance(target, str):
        for old, new in MOVED_MODULES.items():
            if target.startswith(old):
                return new + target[len(old) :]
    return target
