"""Nested Python values <-> (JSON structure, flat list of tensors), so call arguments, stage
outputs and optimiser states fit in a safetensors file (tensors) plus its metadata (JSON).

Never pickle: a safetensors file read back cannot run code.
"""
from __future__ import annotations

import json
from typing import Any

from ..errors import ZooError


def flatten(obj: Any) -> tuple[str, list[Any]]:
    """Return ``(structure_json, tensors)``; ``unflatten`` inverts it."""
    tensors: list[Any] = []
    return json.dumps(_enc(obj, tensors)), tensors


def _enc(obj: Any, tensors: list[Any]) -> Any:
    import torch

    if isinstance(obj, torch.Tensor):
        tensors.append(obj)
        return {"t": len(tensors) - 1}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"v": obj}
    if isinstance(obj, torch.Size):
        return {"size": list(obj)}
    if isinstance(obj, torch.dtype):
        return {"dtype": str(obj).removeprefix("torch.")}
    if isinstance(obj, tuple):
        return {"tuple": [_enc(x, tensors) for x in obj]}
    if isinstance(obj, list):
        return {"list": [_enc(x, tensors) for x in obj]}
    if isinstance(obj, dict):  # keys kept with their type (optimiser states are keyed by int)
        return {"dict": [[_enc(k, tensors), _enc(v, tensors)] for k, v in obj.items()]}
    raise ZooError(f"cannot store a value of type {type(obj).__name__} (tensors, numbers, strings, None, "
                   "tuples, lists and dicts only)")


def unflatten(structure: str, tensors: list[Any]) -> Any:
    return _dec(json.loads(structure), tensors)


def _dec(node: dict, tensors: list[Any]) -> Any:
    import torch

    (kind, val), = node.items()
    if kind == "t":
        return tensors[val]
    if kind == "v":
        return val
    if kind == "size":
        return torch.Size(val)
    if kind == "dtype":
        return getattr(torch, val)
    if kind == "tuple":
        return tuple(_dec(x, tensors) for x in val)
    if kind == "list":
        return [_dec(x, tensors) for x in val]
    if kind == "dict":
        return {_dec(k, tensors): _dec(v, tensors) for k, v in val}
    raise ZooError(f"unknown node {kind!r} in a stored structure")


def tensor_leaves(obj: Any) -> list[Any]:
    """The tensors of a nested value, in a fixed order."""
    return flatten(obj)[1]


def map_tensors(obj: Any, fn) -> Any:
    s, ts = flatten(obj)
    return unflatten(s, [fn(t) for t in ts])
