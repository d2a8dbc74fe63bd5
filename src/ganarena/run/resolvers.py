"""The OmegaConf resolvers the configs use and the `gan_ddp` strategy name, registered once.

    ${gan_strategy:${.devices},${.num_nodes}}    gan_ddp for several processes, else Lightning's choice
    ${sweep_group:}                              the W&B group of a multirun job (its sweep directory)
    ${gpu_or_cpu:${trainer.accelerator},A,B}     A when the run uses a GPU, B on a CPU

Importing `ganarena.run` calls `register()`; configs composed before that cannot resolve these.
"""

from __future__ import annotations

from omegaconf import OmegaConf

from ganarena.run.devices import gpu_or_cpu
from ganarena.run.loggers import sweep_group
from ganarena.run.strategy import choose_strategy, register_strategy


def register() -> None:
    register_strategy()
    OmegaConf.register_new_resolver("gan_strategy", choose_strategy, replace=True)
    OmegaConf.register_new_resolver("sweep_group", sweep_group, replace=True)
    OmegaConf.register_new_resolver("gpu_or_cpu", gpu_or_cpu, replace=True)
