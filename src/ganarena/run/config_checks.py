"""Check a composed run config before any work starts.

    check_config(cfg)   # raises ConfigError for impossible values, warns about dubious ones

Hydra already refuses unknown config groups and keys and lists the valid choices; the values
each class takes (a GAN-QP distance, a critic norm, a toy mixture) are checked by the class
itself when it is built. What is left is checked here: plain numbers that must be positive, and
combinations of groups that cannot or should not work together, and a precision not proven
with the chosen penalties.
"""

from __future__ import annotations

import warnings

from hydra.utils import get_class
from omegaconf import DictConfig

from ganarena.errors import ConfigError
from ganarena.game.constraints import Constraint
from ganarena.game.losses import AdversarialLoss


class DubiousConfigWarning(UserWarning):
    """A config that runs but is unlikely to be what the user wants."""


def check_config(cfg: DictConfig) -> None:
    for key in ("n_critic", "batch_size", "latent_dim"):
        value = cfg[key]
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"{key} must be a positive integer, got {value!r}")
    for side in ("generator", "critic"):
        lr = cfg.optim[side].get("lr")
        if lr is not None and not lr > 0:
            raise ConfigError(f"optim.{side}.lr must be positive, got {lr}")
    per_step = cfg.data.get("batches_per_step")
    if per_step is not None and per_step != cfg.n_critic:
        raise ConfigError(
            f"data.batches_per_step={per_step} but n_critic={cfg.n_critic}: every generator iteration"
            " needs one real batch per critic update; leave data.batches_per_step at ${n_critic}"
        )
    max_steps = cfg.trainer.get("max_steps", -1)
    if max_steps == 0 or max_steps < -1:
        raise ConfigError(f"trainer.max_steps counts generator iterations and must be positive, got {max_steps}")
    check_precision(cfg)
    for message in dubious_choices(cfg):
        warnings.warn(message, DubiousConfigWarning, stacklevel=2)


def check_precision(cfg: DictConfig) -> None:
    """16-mixed with a gradient penalty: refused until the GPU test proves its loss scaling.

    The penalties follow PyTorch's recipe under the run's GradScaler (run/precision.py), proven on
    CPU with float16 autocast; tests/test_precision.py's CUDA test is the proof still to be run.
    """
    precision = str((cfg.get("trainer") or {}).get("precision", "32-true"))
    if precision not in ("16", "16-mixed"):
        return
    classes = {name: get_class(c._target_) for name, c in (cfg.constraint or {}).items()}
    penalties = sorted(name for name, cls in classes.items() if cls.penalty is not Constraint.penalty)
    if penalties:
        raise ConfigError(
            f"trainer.precision={precision} with a gradient penalty (constraint {', '.join(penalties)}) is not"
            " proven here: its float16 loss scaling has been checked on CPU only, not on a GPU. Use"
            " trainer.precision=bf16-mixed (no loss scaling needed) or trainer.precision=32-true."
        )


def dubious_choices(cfg: DictConfig) -> list[str]:
    """Warnings the chosen loss gives about itself and about the chosen constraints."""
    loss_class: type[AdversarialLoss] = get_class(cfg.loss._target_)
    constraint_classes: list[type[Constraint]] = [get_class(c._target_) for c in (cfg.constraint or {}).values()]
    return loss_class.cautions(constraint_classes)
