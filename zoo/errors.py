"""User-facing errors. The CLI turns any ZooError into a one-line message and exit code 2.

Hints speak the caller's language: from Python they name arguments (``pretrained=False``),
from the command line the flags (``--random-init``). Build them with :func:`say`; the CLI
sets the caller with :func:`caller`.
"""
from __future__ import annotations

import contextlib
import contextvars
from typing import Iterator

_CALLER: contextvars.ContextVar[str] = contextvars.ContextVar("zoo_caller", default="python")


@contextlib.contextmanager
def caller(name: str) -> Iterator[None]:
    """Within this block, hints are worded for ``name`` ('python' or 'cli')."""
    token = _CALLER.set(name)
    try:
        yield
    finally:
        _CALLER.reset(token)


def say(python: str, cli: str) -> str:
    """``python`` when called from Python, ``cli`` when called from the `zoo` command."""
    return cli if _CALLER.get() == "cli" else python


def one_line(text: object) -> str:
    """First line of a message from a library (a traceback-like wall of text is not a hint)."""
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    return lines[0] if lines else ""


class ZooError(Exception):
    """Base class for errors a user can fix (bad id, missing weights, bad input)."""


class UnknownModelError(ZooError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class RegistryCollisionError(ZooError):
    pass


class WeightsNotFoundError(ZooError):
    pass


class UnsafeCheckpointError(ZooError):
    """A pickle checkpoint (.bin/.ckpt/.pt) was offered where only safetensors are accepted."""


class CorruptWeightsError(ZooError):
    pass


class PluginLoadError(ZooError):
    pass


class HubAuthError(ZooError):
    pass


class InvalidInputError(ZooError, ValueError):
    """A bad argument value (device, size, steps, dtype, image)."""


class OutputError(ZooError):
    """The destination cannot be written (exists, read-only, full)."""
