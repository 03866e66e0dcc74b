"""Helpers shared by the FraQAT / QUAD tests."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
import torch

import zoo


class Inner(torch.nn.Module):
    """A module held as ``.inner``, like the core's component wrapper (what export sees)."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x)


def benchmark(name: str, needs: str):
    """Import ``benchmarks/{name}.py`` (skip when the proving-ground model ``needs`` is absent)."""
    if needs not in zoo.list_models("mini-*"):
        pytest.skip(f"the proving ground's {needs} is not registered in this checkout")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.pop(0)
