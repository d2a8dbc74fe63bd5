"""Errors the user can fix: the entry points print their message alone, without a traceback.

Raise a subclass of `ArenaError` when the cause is outside the code (a config value, a missing
file, a data set that is not there) and the message can say what was wrong and how to fix it.

    with exit_on_user_error():     # every entry point: the message alone, exit status 1
        train(cfg)
"""

from collections.abc import Iterator
from contextlib import contextmanager


class ArenaError(Exception):
    """Base class: a problem with the user's input, explained in its message."""


class ConfigError(ArenaError, ValueError):
    """A config value or combination that cannot work."""


class DataNotFoundError(ArenaError, FileNotFoundError):
    """A data set's files are missing and could not be downloaded."""


class CheckpointError(ArenaError):
    """A checkpoint that is missing, unreadable or belongs to an incompatible run."""


def user_error_behind(error: BaseException) -> ArenaError | None:
    """The ArenaError a wrapped exception (e.g. Hydra's InstantiationException) was raised from, if any."""
    cause = error
    while cause is not None and not isinstance(cause, ArenaError):
        cause = cause.__cause__
    return cause


@contextmanager
def exit_on_user_error() -> Iterator[None]:
    """End the program with `error: <message>` (exit status 1) on an ArenaError, also one that Hydra wrapped."""
    try:
        yield
    except Exception as error:
        user_error = user_error_behind(error)
        if user_error is None:
            raise
        raise SystemExit(f"error: {user_error}") from None
