"""Learning-rate schedules counted in generator iterations: a factor on each optimiser's base rate.

    schedule = LinearDecay(total_iterations=100_000)
    lr = base_lr * schedule.factor(iteration)    # iteration: generator iterations finished so far

Both networks follow the generator's count (the critic's n_critic updates of one iteration share
its rate), as in the WGAN-GP and SNGAN ResNet recipes. run/schedules.py applies the factor.
"""

from __future__ import annotations

from ganarena.errors import ConfigError


class ConstantRate:
    """The base rate throughout."""

    def factor(self, iteration: int) -> float:
        return 1.0


class LinearDecay:
    """Constant until `start_iteration`, then linear to zero at `total_iterations` (WGAN-GP, SNGAN ResNet)."""

    def __init__(self, total_iterations: int, start_iteration: int = 0):
        if not isinstance(total_iterations, int) or total_iterations < 1:
            raise ConfigError(
                f"a linear learning-rate decay needs the run's length: trainer.max_steps must be a positive"
                f" number of generator iterations, got {total_iterations}; or use optim/schedule=constant"
            )
        if not 0 <= start_iteration < total_iterations:
            raise ConfigError(
                f"optim.schedule.start_iteration must be in [0, {total_iterations}), got {start_iteration}"
            )
        self.total_iterations = total_iterations
        self.start_iteration = start_iteration

    def factor(self, iteration: int) -> float:
        decayed = max(0, iteration - self.start_iteration)
        return max(0.0, 1.0 - decayed / (self.total_iterations - self.start_iteration))
