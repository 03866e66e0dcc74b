"""The public teacher checkpoints the zoo's methods start from, by their real Hub repo ids.

On a machine with Hub access ``zoo.load("sd15")`` downloads the real SD1.5; each teacher also
has a ``-tiny`` variant of the same classes for tests. Registered through the same entry
point group as any third-party plugin.
"""
from __future__ import annotations

from zoo import hookimpl

from .specs import all_specs


@hookimpl
def register_models(register):
    for spec in all_specs():
        register(spec)
