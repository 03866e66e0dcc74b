"""Corrections to torch.onnx's ATen -> ONNX translations, passed as ``custom_translation_table``
to every dynamo export the zoo runs.

- ``aten.squeeze.dim(s)`` on an axis whose size is not 1 is a no-op in torch, but onnxscript's
  translation (0.7) emits ``Squeeze(axes=[d])`` regardless, which onnxruntime refuses to load
  ("Dimension of input 1 must be 1"). Every diffusers PixArt transformer does this
  (``hidden_states.squeeze(1)`` on B x N x C after ``proj_out``), so whole-transformer exports of
  PixArt-alpha/Sigma failed. At the zoo's static shapes the size is known: such axes are dropped
  and a squeeze with none left becomes Identity.
"""
from __future__ import annotations

from typing import Any, Callable


def _static_dims(x: Any) -> list:
    shape = getattr(x, "shape", None)
    return [] if shape is None else [d if isinstance(d, int) else None for d in shape]


def _squeeze_axes(self: Any, dims: list[int]) -> Any:
    from onnxscript import opset18 as op

    sizes = _static_dims(self)
    rank = len(sizes)
    if rank == 0:
        return op.Identity(self)
    # keep an axis unless its size is statically known and not 1 (torch then leaves it alone)
    keep = [d % rank for d in dims if sizes[d % rank] is None or sizes[d % rank] == 1]
    if not keep:
        return op.Identity(self)
    return op.Squeeze(self, keep)


def squeeze_dim(self: Any, dim: int) -> Any:
    return _squeeze_axes(self, [dim])


def squeeze_dims(self: Any, dim: list[int]) -> Any:
    return _squeeze_axes(self, list(dim))


def translation_table() -> dict[Any, Callable]:
    import torch

    return {torch.ops.aten.squeeze.dim: squeeze_dim, torch.ops.aten.squeeze.dims: squeeze_dims}
