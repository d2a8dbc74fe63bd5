"""GANModule's direct backward and optimiser path: taken only where Lightning's would add nothing, same numbers."""

import lightning as L
import pytest
import torch

from conftest import FAST, TINY_MLP, compose_config
from ganarena.game.updates import DirectUpdates, LightningUpdates
from ganarena.run.build import build_run
from ganarena.run.direct_updates import DirectUpdatesAtFitStart, why_not_direct

TOY = [*FAST, "data=grid25", *TINY_MLP, "n_critic=2", "trainer.max_steps=3", "metrics=none"]


def built(tmp_path, *overrides):
    cfg = compose_config([*TOY, *overrides], tmp_path)
    L.seed_everything(cfg.seed)
    return build_run(cfg)


def chooser(trainer) -> DirectUpdatesAtFitStart:
    (callback,) = [c for c in trainer.callbacks if isinstance(c, DirectUpdatesAtFitStart)]
    return callback


def fitted(tmp_path, direct: bool, *overrides):
    datamodule, module, trainer = built(tmp_path, *overrides)
    if not direct:
        trainer.callbacks.remove(chooser(trainer))
    seen = []
    trainer.callbacks.append(UpdatesSeen(seen))
    trainer.fit(module, datamodule=datamodule)
    return module, trainer, seen


class UpdatesSeen(L.Callback):
    """Records which update path the module held during training (a batch hook: no effect on the choice)."""

    def __init__(self, seen):
        self.seen = seen

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.seen.append(type(pl_module.updates))


@pytest.mark.parametrize("constraint", ["gp", "[clip]", "[r1]"])
def test_the_direct_path_ends_bit_for_bit_where_lightnings_path_ends(constraint, tmp_path):
    # A penalty's double backward, clipping after the step and a lazy penalty (`every`) go through either path alike.
    extra = [f"constraint={constraint}"] + (["constraint.r1.every=2"] if constraint == "[r1]" else [])
    direct, direct_trainer, direct_seen = fitted(tmp_path / "direct", True, *extra)
    hooked, hooked_trainer, hooked_seen = fitted(tmp_path / "hooked", False, *extra)
    assert set(direct_seen) == {DirectUpdates} and set(hooked_seen) == {LightningUpdates}
    assert isinstance(direct.updates, LightningUpdates)  # handed back at fit end
    for name, value in hooked.state_dict().items():
        assert torch.equal(direct.state_dict()[name], value), name
    # The generator's direct step is still the loop's counted step; critic steps are not.
    assert direct_trainer.global_step == hooked_trainer.global_step == 3 == direct.iteration
    for ours, theirs in zip(direct_trainer.optimizers, hooked_trainer.optimizers, strict=True):
        assert [s["step"].item() for s in ours.state.values()] == [s["step"].item() for s in theirs.state.values()]


class BackwardCounter(L.Callback):
    def __init__(self):
        self.backwards = 0

    def on_after_backward(self, trainer, pl_module):
        self.backwards += 1


def test_a_callback_hooking_backward_keeps_lightnings_path_and_sees_every_backward(tmp_path):
    datamodule, module, trainer = built(tmp_path)
    counter = BackwardCounter()
    trainer.callbacks.append(counter)
    trainer.fit(module, datamodule=datamodule)
    assert chooser(trainer).direct is False and chooser(trainer).reason == "BackwardCounter.on_after_backward"
    assert counter.backwards == 3 * (2 + 1)  # n_critic critic updates and one generator update per iteration


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ([], None),
        (["trainer.precision=bf16-mixed"], "the precision plugin MixedPrecision"),
        (["trainer.precision=64-true"], "the precision plugin DoublePrecision"),
        (["trainer.strategy=gan_ddp", "trainer.devices=2"], None),
        (["trainer.strategy=ddp_find_unused_parameters_true", "trainer.devices=2"], "the strategy DDPStrategy"),
    ],
)
def test_the_choice_follows_the_precision_plugin_and_the_strategy(overrides, reason, tmp_path):
    _, module, trainer = built(tmp_path, *overrides)
    assert why_not_direct(trainer, module) == reason


def test_a_module_overriding_a_hook_keeps_lightnings_path(tmp_path):
    _, module, trainer = built(tmp_path)
    module.__class__ = type("HookedGAN", (type(module),), {"on_before_optimizer_step": lambda self, opt: None})
    assert why_not_direct(trainer, module) == "HookedGAN.on_before_optimizer_step"
