"""ganarena: compare GAN objectives on the same footing with Lightning and Hydra.

Importing the package registers the `gan_ddp` Lightning strategy and the OmegaConf resolvers
the configs use: `gan_strategy` (the trainer's strategy for a device count) and `sweep_group`
(the W&B group of a multirun job).
"""

from omegaconf import OmegaConf

from ganarena.loggers import sweep_group
from ganarena.strategy import choose_strategy, register

register()
OmegaConf.register_new_resolver("gan_strategy", choose_strategy, replace=True)
OmegaConf.register_new_resolver("sweep_group", sweep_group, replace=True)
