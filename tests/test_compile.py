"""compile=true: the compiled updates train under every kind of constraint and end where eager ones end.

Compiled kernels sum in another order than eager ones, so weights agree to float32 rounding, not
bit for bit. The yardstick is the benchmark's (scripts/speed/plain_loop.py, RoundingNoisePlainLoop):
a weight whose gradient is at rounding level (GAN-QP's last critic bias, whose gradient cancels)
moves by about lr one way or the other under Adam, so at most 2 * lr per update apart; every other
weight must agree to 1e-5.
"""

import lightning as L
import pytest
import torch

from conftest import FAST, TINY_MLP, compose_config
from ganarena.game.compiled import CompiledUpdates
from ganarena.run.build import build_run

STEPS, N_CRITIC, LR = 3, 2, 2e-4
TOY = [*FAST, "data=grid25", *TINY_MLP, f"n_critic={N_CRITIC}", f"trainer.max_steps={STEPS}", "metrics=none"]


class UpdatesSeen(L.Callback):
    def __init__(self):
        self.seen = set()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.seen.add(type(pl_module.updates))


def trained(tmp_path, *overrides):
    cfg = compose_config([*TOY, *overrides], tmp_path)
    L.seed_everything(cfg.seed)
    datamodule, module, trainer = build_run(cfg)
    seen = UpdatesSeen()
    trainer.callbacks.append(seen)
    trainer.fit(module, datamodule=datamodule)
    return module, trainer, seen.seen


CONSTRAINTS = {
    "none": [],
    "gp": ["constraint=gp"],
    "sn": ["constraint=sn"],
    "r1_lazy": ["constraint=[r1]", "constraint.r1.every=2"],
}


@pytest.mark.parametrize("constraint", CONSTRAINTS.values(), ids=CONSTRAINTS)
def test_a_compiled_run_ends_where_the_eager_run_ends_within_float32_rounding(constraint, tmp_path):
    compiled, trainer, seen = trained(tmp_path / "compiled", "compile=true", *constraint)
    eager, _, _ = trained(tmp_path / "eager", *constraint)
    assert seen == {CompiledUpdates}
    assert trainer.global_step == STEPS == compiled.iteration
    gaps = torch.cat(
        [(compiled.state_dict()[k] - v).abs().flatten() for k, v in eager.state_dict().items() if v.is_floating_point()]
    )
    assert gaps.max() <= 2 * LR * STEPS * N_CRITIC
    assert (gaps > 1e-5).float().mean() < 0.01, f"{int((gaps > 1e-5).sum())} of {gaps.numel()} weights apart"
