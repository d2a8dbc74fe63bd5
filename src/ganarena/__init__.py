"""ganarena: compare GAN objectives on the same footing with Lightning and Hydra.

Importing the package registers the `gan_ddp` Lightning strategy and the `gan_strategy`
OmegaConf resolver the trainer configs use to pick it.
"""

from omegaconf import OmegaConf

from ganarena.strategy import choose_strategy, register

register()
OmegaConf.register_new_resolver("gan_strategy", choose_strategy, replace=True)
