"""Stop training when a loss, penalty or weight turns NaN or infinite, without stalling a GPU.

    guard = FiniteGuard(advice=lambda: "Lower the learning rates.")
    guard.submit(iteration, {"train/critic_loss": loss, "critic weights": checksum})  # device scalars
    guard.submit_stacked(iteration, names, values)   # the same, already stacked in one vector
    guard.confirm()   # before a checkpoint is written or the generator is evaluated
    guard.latest      # the last readings found finite, as host tensors

`on_checked(iteration, readings)` receives every iteration's readings once they are found finite,
on the host: a logger fed from there never makes the host wait for the device.

On a CPU every iteration is checked at once. On a GPU the readings are copied to the host
asynchronously and checked once the next iteration has been queued, so the device never waits
for the host: training stops at most one iteration after the broken one, and the message names
the broken one. `confirm()` waits for the pending readings, so nothing broken is saved or scored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from ganarena.errors import ArenaError


class NonFiniteError(ArenaError):
    """A loss, penalty or weight became NaN or infinite; the message names it and the iteration."""


@dataclass
class _Readings:
    iteration: int
    names: list[str]
    values: Tensor  # on the host, or on its way there until `copied` has completed
    copied: torch.cuda.Event | None


class FiniteGuard:
    def __init__(
        self,
        advice: Callable[[], str],
        on_checked: Callable[[int, dict[str, Tensor]], None] | None = None,
        deferred: bool | None = None,
    ):
        """`advice()` completes the error message: what was saved last and what to try.

        `deferred`: check each iteration's readings after the next one is queued; by default
        exactly when they are on a GPU.
        """
        self.advice = advice
        self.on_checked = on_checked
        self.deferred = deferred
        self.latest: dict[str, Tensor] = {}
        self._pending: _Readings | None = None

    def submit(self, iteration: int, readings: dict[str, Tensor]) -> None:
        """Queue one iteration's scalar readings; checks them now, or after the next submit when deferred."""
        self.submit_stacked(iteration, list(readings), torch.stack(list(readings.values())))

    def submit_stacked(self, iteration: int, names: list[str], values: Tensor) -> None:
        """`submit` of readings already stacked into one vector, in the order of `names`."""
        values = values.detach().float()
        deferred = values.is_cuda if self.deferred is None else self.deferred
        copied = None
        if values.is_cuda:
            values = values.to("cpu", non_blocking=True)
            copied = torch.cuda.Event()
            copied.record()
        earlier, self._pending = self._pending, _Readings(iteration, names, values, copied)
        if earlier is not None:
            self._check(earlier)
        if not deferred:
            self.confirm()

    def confirm(self) -> None:
        """Check the pending readings now; raises NonFiniteError if any is NaN or infinite."""
        pending, self._pending = self._pending, None
        if pending is not None:
            self._check(pending)

    def _check(self, readings: _Readings) -> None:
        if readings.copied is not None:
            readings.copied.synchronize()
        finite = torch.isfinite(readings.values)
        if not bool(finite.all()):
            self._pending = None
            values = zip(readings.names, readings.values.tolist(), finite.tolist(), strict=True)
            broken = ", ".join(f"{name} = {value:g}" for name, value, ok in values if not ok)
            raise NonFiniteError(f"iteration {readings.iteration}: {broken}. {self.advice()}")
        self.latest = dict(zip(readings.names, readings.values.unbind(), strict=True))
        if self.on_checked is not None:
            self.on_checked(readings.iteration, self.latest)
