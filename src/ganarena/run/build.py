"""Turn a composed Hydra config into the objects of one run: DataModule, GANModule, Trainer.

    datamodule, module, trainer = build_run(cfg)
    trainer.fit(module, datamodule=datamodule)

Order matters in one place: the constraints are built before the critic, because
`model.critic.norm=auto` follows their preference (layer norm under a gradient penalty, none
under spectral norm, the architecture's default otherwise). Generator-side regularizers get the
data shape and a way to build a critic as the main one is built (MDGAN's manifold critic).
"""

from __future__ import annotations

from typing import Any

import lightning as L
from hydra.errors import InstantiationException
from hydra.utils import instantiate as hydra_instantiate
from lightning.pytorch.loggers import Logger
from omegaconf import DictConfig, OmegaConf

from ganarena.data.base import ArenaDataModule
from ganarena.errors import ConfigError, user_error_behind
from ganarena.game.constraints import Constraint, preferred_critic_norm
from ganarena.game.module import GANModule
from ganarena.game.regularizers import GeneratorRegularizer
from ganarena.metrics.evaluation import Evaluation
from ganarena.models.memory_format import use_channels_last
from ganarena.run.checkpoints import AtomicCheckpointIO
from ganarena.run.csv_history import ContinuingCSVLogger, LogsInCheckpoints
from ganarena.run.direct_updates import DirectUpdatesAtFitStart
from ganarena.run.ema import AveragedGenerator
from ganarena.run.evaluation import ScheduledEvaluation
from ganarena.run.loop_position import LoopPosition
from ganarena.run.monitor import TrainingMonitor
from ganarena.run.precision import MIXED_PRECISIONS, PenaltyLossScaling, scores_in_float32
from ganarena.run.random_states import RandomStates
from ganarena.run.schedules import LearningRateSchedule
from ganarena.run.strategy import check_strategy


def instantiate(node, *args, **kwargs):
    """Hydra's instantiate, with an ArenaError raised by a constructor unwrapped: its message is the one to show."""
    try:
        return hydra_instantiate(node, *args, **kwargs)
    except InstantiationException as error:
        if (user_error := user_error_behind(error)) is not None:
            raise user_error from None
        raise


def build_constraints(cfg: DictConfig) -> list[Constraint]:
    return [instantiate(c) for c in (cfg.constraint or {}).values()]


def build_critic(critic_cfg: DictConfig, data_shape: tuple[int, ...], constraints: list[Constraint]):
    overrides = {"data_shape": data_shape}
    if critic_cfg.get("norm") == "auto":
        preference = preferred_critic_norm(constraints)
        critic_cfg = OmegaConf.masked_copy(critic_cfg, [k for k in critic_cfg if k != "norm"])
        if preference is not None:
            overrides["norm"] = preference
    return instantiate(critic_cfg, **overrides)


def build_regularizers(cfg: DictConfig, data_shape: tuple[int, ...]) -> list[GeneratorRegularizer]:
    def make_critic():
        constraints = build_constraints(cfg)
        critic = build_critic(cfg.model.critic, data_shape, constraints)
        for constraint in constraints:
            constraint.apply(critic)
        return critic, constraints

    nodes = (cfg.get("regularizer") or {}).values()
    return [instantiate(node, data_shape=data_shape, make_critic=make_critic) for node in nodes]


def build_module(cfg: DictConfig, data_shape: tuple[int, ...]) -> GANModule:
    constraints = build_constraints(cfg)
    generator = instantiate(cfg.model.generator, data_shape=data_shape)
    # Configs stored before ema= existed have no such section: no averaged generator.
    average = instantiate(cfg.ema) if cfg.get("ema") else None
    module = GANModule(
        generator=generator,
        critic=build_critic(cfg.model.critic, data_shape, constraints),
        loss=instantiate(cfg.loss),
        constraints=constraints,
        # Stored configs of runs before augmentation existed have no `augment` section.
        augment=instantiate(cfg.augment) if cfg.get("augment") else None,
        generator_optimizer=instantiate(cfg.optim.generator),
        critic_optimizer=instantiate(cfg.optim.critic),
        n_critic=cfg.n_critic,
        config=OmegaConf.to_container(cfg, resolve=True),
        regularizers=build_regularizers(cfg, data_shape),
    )
    if average is not None:
        module.generator_ema = average.average_copy(generator)
    if str((cfg.get("trainer") or {}).get("precision")) in MIXED_PRECISIONS:
        scores_in_float32(module.critic)
    # Stored configs of runs before channels_last existed have no such key: NCHW.
    if cfg.get("channels_last"):
        for network in (module.generator, module.critic, module.generator_ema, *module.regularizers):
            if network is not None:
                use_channels_last(network)
    return module


def build_schedules(cfg: DictConfig) -> list[L.Callback]:
    """The callbacks that average the generator (ema=on) and set the learning rates (optim/schedule)."""
    callbacks: list[L.Callback] = []
    if cfg.get("ema"):
        callbacks.append(AveragedGenerator(instantiate(cfg.ema)))
    if cfg.optim.get("schedule"):
        callbacks.append(LearningRateSchedule(instantiate(cfg.optim.schedule)))
    return callbacks


def build_loggers(cfg: DictConfig, checkpoint: dict[str, Any] | None = None) -> list[Logger]:
    """The chosen loggers, plus <run dir>/csv/metrics.csv with every metric, always (its hparams.yaml
    holds the evaluation protocols; the config is in the checkpoint and .hydra/).

    With the `checkpoint` the run continues from, the CSV log keeps the rows that checkpoint counted.
    """
    # A logger whose node has a `config` key gets the resolved run config (W&B filters and groups by it).
    nodes = [OmegaConf.to_container(c, resolve=True) for c in (cfg.logger or {}).values()]
    for node in nodes:
        if "config" in node:
            node["config"] = OmegaConf.to_container(cfg, resolve=True)
    loggers = [instantiate(node, _recursive_=False, _convert_="all") for node in nodes]  # the config is data
    resumed = (
        {}
        if checkpoint is None
        else {"rows_to_keep": checkpoint.get("csv_rows"), "resume_iteration": checkpoint["iteration"]}
    )
    loggers.append(ContinuingCSVLogger(save_dir=cfg.paths.output_dir, name="csv", version="", **resumed))
    return loggers


def build_evaluations(cfg: DictConfig, datamodule) -> list[Evaluation]:
    """The metric families of `cfg.metrics` that can measure these data (see conf/metrics/)."""
    metrics = cfg.get("metrics") or {}
    evaluations, refusals = [], []
    for name, node in metrics.items():
        if not isinstance(node, DictConfig):  # `required`, or a family that a narrower choice set to null
            continue
        evaluation = instantiate(node)
        evaluation.name = name
        problem = evaluation.incompatibility(datamodule)
        if problem is None:
            evaluation.check()
            evaluations.append(evaluation)
        else:
            refusals.append(f"metrics.{name}: {problem}")
    if metrics.get("required") and refusals and not evaluations:
        raise ConfigError(
            "; ".join(refusals) + ". Choose metrics=auto (whatever fits the data) or metrics=none (no evaluation)"
        )
    return evaluations


def updates_path(cfg: DictConfig) -> DirectUpdatesAtFitStart:
    """The callback that picks the module's update path at fit start; compiled with `compile=true`."""
    return DirectUpdatesAtFitStart(compile_mode=cfg.get("compile_mode", "default") if cfg.get("compile") else None)


def build_run(
    cfg: DictConfig, checkpoint: dict[str, Any] | None = None
) -> tuple[ArenaDataModule, GANModule, L.Trainer]:
    """The run's objects; `checkpoint` is the one it continues from, if any (see resume.py)."""
    datamodule = instantiate(cfg.data)
    module = build_module(cfg, datamodule.shape)
    # The monitor comes first: every later callback of an iteration sees its weights checked.
    # Random states come last: restored after every other callback has started.
    # The average and the rates follow right after: later callbacks checkpoint, score and draw them.
    # DirectUpdatesAtFitStart looks at every callback the trainer holds when the fit starts, wherever it sits.
    callbacks: list[L.Callback] = [TrainingMonitor(), PenaltyLossScaling(), *build_schedules(cfg)]
    callbacks += [instantiate(c) for c in (cfg.callbacks or {}).values()]
    callbacks += [*map(ScheduledEvaluation, build_evaluations(cfg, datamodule)), updates_path(cfg)]
    callbacks += [LogsInCheckpoints(), LoopPosition(), RandomStates()]
    trainer = instantiate(
        cfg.trainer, logger=build_loggers(cfg, checkpoint), callbacks=callbacks, plugins=[AtomicCheckpointIO()]
    )
    check_strategy(trainer.strategy)
    return datamodule, module, trainer
