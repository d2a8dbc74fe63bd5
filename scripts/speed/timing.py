"""Clocks and rounds of the speed benchmark: device-synchronised readings, round order, medians.

    clock = WindowClock(start=2, stop=10, device=device)   # a Lightning callback
    trainer.callbacks.append(clock); trainer.fit(...); clock.seconds
    with StopWatch(device) as watch:
        watch.wrap(evaluation, "run", "total"); evaluation.run(...)   # watch.seconds["total"]

CUDA is synchronised before every clock reading, so queued kernels count where they ran.
`use_clock("cpu")` makes every reading this process's CPU time (time.process_time): on a CPU
shared with other work, a one-thread run then stops counting the time it waited for a core.
"""

from __future__ import annotations

import statistics
import time

import lightning as L
import torch

_CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
_clock = time.perf_counter


def use_clock(name: str) -> None:
    """Every later reading from `clock()`: "wall" (perf_counter, the default) or "cpu" (process CPU time)."""
    global _clock
    _clock = _CLOCKS[name]


def clock() -> float:
    return _clock()


def synchronize(device: torch.device) -> None:
    """Wait for the device: a clock read while kernels are queued would time the queueing only."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class WindowClock(L.Callback):
    """Clock readings when iterations `start` and `stop` begin (their batch already on the device).

    `warmup_seconds`: from the start of training to the window (compile=true compiles in there).
    """

    def __init__(self, start: int, stop: int, device: torch.device):
        self.start, self.stop, self.device = start, stop, device
        self.readings: dict[int, float] = {}
        self.train_started: float | None = None

    def on_train_start(self, trainer, pl_module):
        synchronize(self.device)
        self.train_started = clock()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if pl_module.iteration in (self.start, self.stop):
            synchronize(self.device)
            self.readings[pl_module.iteration] = clock()

    @property
    def seconds(self) -> float:
        if self.stop not in self.readings:
            # The preemption callback ends a run cleanly on SIGTERM (a `timeout`, for one).
            raise RuntimeError(f"training stopped before iteration {self.stop}: the timed window is incomplete")
        return self.readings[self.stop] - self.readings[self.start]

    @property
    def warmup_seconds(self) -> float:
        return self.readings[self.start] - self.train_started


class StopWatch:
    """Times every call of the methods it wraps, until the `with` block ends and unwraps them."""

    def __init__(self, device: torch.device):
        self.device = device
        self.seconds: dict[str, float] = {}
        self._wrapped: list[tuple[object, str]] = []

    def wrap(self, owner, method: str, name: str) -> None:
        original = getattr(owner, method)

        def timed(*args, **kwargs):
            synchronize(self.device)
            started = clock()
            result = original(*args, **kwargs)
            synchronize(self.device)
            self.seconds[name] = clock() - started
            return result

        setattr(owner, method, timed)
        self._wrapped.append((owner, method))

    def __enter__(self) -> StopWatch:
        return self

    def __exit__(self, *exception) -> None:
        for owner, method in reversed(self._wrapped):
            delattr(owner, method)  # the class's method shows through again


def in_round_order(names: list[str], round_index: int) -> list[str]:
    """Every other round runs the variants backwards: neither always goes first (cold caches) or last."""
    return names if round_index % 2 == 0 else names[::-1]


def median_rate(seconds: list[float], iterations: int) -> float:
    return statistics.median(iterations / s for s in seconds)
