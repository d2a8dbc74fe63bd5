"""DDP for the two-player game: generator and critic in separate DistributedDataParallel wrappers.

Lightning's own DDP wraps the whole LightningModule in one DDP instance. A critic update never
touches the generator's parameters, so that wrapper waits for gradients that never come and
fails, unless `find_unused_parameters=True` pays for a graph traversal on every backward. Like
StyleGAN2-ADA and StudioGAN, this strategy wraps each network on its own; the GANModule calls
the wrappers through `train_networks` while the state dict keeps the plain modules. Networks of
generator-side regularizers (an encoder, MDGAN's manifold critic) are wrapped the same way.

Selected by `trainer.strategy=gan_ddp`; the default trainer config picks it whenever more than
one device or node is requested.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import torch
from lightning.pytorch.strategies import DDPStrategy, StrategyRegistry
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ganarena.errors import ConfigError
from ganarena.run.lightning_private import ddp_kwargs

# torch 2.14 renamed the switch; the old name still works but warns.
_NO_FORWARD_BUFFER_SYNC = (
    "forward_sync_buffers"
    if "forward_sync_buffers" in inspect.signature(DistributedDataParallel.__init__).parameters
    else "broadcast_buffers"
)


class GANDDPStrategy(DDPStrategy):
    strategy_name = "gan_ddp"

    def _setup_model(self, model: nn.Module) -> nn.Module:
        networks = getattr(model, "train_networks", None)
        if networks is None:
            raise TypeError(f"{self.strategy_name} drives a GANModule, got {type(model).__name__}")
        device_ids = self.determine_ddp_device_ids()
        # The critic runs several forwards (real, fake, interpolates) before one backward; DDP's
        # default buffer broadcast would overwrite batch-norm statistics in place between them
        # and break autograd. Running statistics stay per rank instead (rank 0's are saved).
        kwargs = {_NO_FORWARD_BUFFER_SYNC: False, **ddp_kwargs(self)}
        for table in (networks, *(r.train_networks for r in getattr(model, "regularizers", ()))):
            for name, network in list(table.items()):
                table[name] = DistributedDataParallel(network, device_ids=device_ids, **kwargs)
        return model

    def teardown(self) -> None:
        module = self.lightning_module
        if module is not None and hasattr(module, "train_networks"):
            module.train_networks = {"generator": module.generator, "critic": module.critic}
            for regularizer in getattr(module, "regularizers", ()):
                regularizer.train_networks = regularizer.networks()
        super().teardown()


def register_strategy() -> None:
    if GANDDPStrategy.strategy_name not in StrategyRegistry:
        StrategyRegistry.register(
            GANDDPStrategy.strategy_name,
            GANDDPStrategy,
            description="DDP with generator and critic wrapped separately",
            start_method="popen",
        )


def _device_count(devices) -> int:
    """How many devices a Trainer `devices` value asks for (int, "2", "0,1", [0, 1], "auto", -1)."""
    if isinstance(devices, str) and "," in devices:
        return len([d for d in devices.split(",") if d.strip()])
    if isinstance(devices, Sequence) and not isinstance(devices, str):
        return len(devices)
    if str(devices) in ("auto", "-1"):
        return max(torch.cuda.device_count(), 1)
    return int(devices)


def choose_strategy(devices, num_nodes) -> str:
    """`gan_ddp` when more than one process is asked for, else Lightning's automatic choice."""
    return "auto" if _device_count(devices) == 1 and int(num_nodes) == 1 else GANDDPStrategy.strategy_name


def check_strategy(strategy) -> None:
    """Refuse Lightning's whole-module DDP, which cannot run a critic update, with a way out."""
    if (
        isinstance(strategy, DDPStrategy)
        and not isinstance(strategy, GANDDPStrategy)
        and not ddp_kwargs(strategy).get("find_unused_parameters", False)
    ):
        raise ConfigError(
            f"trainer.strategy={strategy.strategy_name} wraps generator and critic in one DDP"
            " instance, which fails on the first critic update (the generator's parameters get"
            " no gradient). Use trainer.strategy=gan_ddp (the default for several devices), or"
            " trainer.strategy=ddp_find_unused_parameters_true at the cost of a graph traversal"
            " per backward."
        )
