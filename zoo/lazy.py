"""Lazy exports for plugin packages: names resolve to their submodule on first access, so a
plugin's ``__init__`` stays light (``zoo list`` imports it) while ``pkg.ModelClass`` still works
(diffusers finds classes named in a saved pipeline's model_index.json this way)."""
from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping


def lazy_exports(package: str, names: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving ``names`` (attribute -> submodule of ``package``).

        __getattr__ = zoo.lazy_exports(__name__, {"MyUNet": "unet"})
    """

    def __getattr__(name: str) -> Any:
        if name in names:
            return getattr(importlib.import_module(f".{names[name]}", package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
