"""Input checks that run before anything is built or downloaded: a bad device, size, step
count, dtype or technique list is a one-line :class:`InvalidInputError` in well under a
second, never a library traceback minutes later."""
from __future__ import annotations

import numbers
from typing import Any, Iterable, Mapping, Optional, Union

from .errors import InvalidInputError, say

# Pixel sides must be a multiple of the VAE's downsampling factor (8 for every SD-family VAE).
PIXEL_MULTIPLE = 8
# How far a run may stray from the model's native resolution: a quarter of it up to 4x.
SIZE_RANGE = (0.25, 4.0)
DTYPES = {"fp32": "float32", "float32": "float32", "fp16": "float16", "float16": "float16",
          "half": "float16", "bf16": "bfloat16", "bfloat16": "bfloat16"}


def check_device(device: Any) -> Any:
    """``device`` if torch here can use it (None, cpu, meta, cuda[:N], mps, ...), else InvalidInputError."""
    if device is None:
        return None
    import torch

    cpu = say("device='cpu'", "--device cpu")
    if isinstance(device, torch.device):
        d = device
    elif isinstance(device, str):
        try:
            d = torch.device(device.strip())
        except (RuntimeError, ValueError):
            raise InvalidInputError(f"unknown device {device!r}: use cpu, cuda, cuda:N or mps ({cpu})") from None
    else:
        raise InvalidInputError(f"device must be a string like 'cpu' or 'cuda:0', got {type(device).__name__}")
    if d.type in ("cpu", "meta"):
        return device
    backend = {"cuda": torch.cuda, "mps": getattr(torch.backends, "mps", None)}.get(d.type) or getattr(torch, d.type, None)
    available = getattr(backend, "is_available", None)
    if available is None or not available():
        build = "a CPU-only build" if d.type == "cuda" and torch.version.cuda is None else "no such device visible"
        raise InvalidInputError(
            f"device {device!r} is not available here (torch {torch.__version__}: {build}); use {cpu}")
    count = getattr(backend, "device_count", None)
    if d.index is not None and count is not None and d.index >= count():
        raise InvalidInputError(f"device {device!r}: only {count()} {d.type} device(s) here (indices 0..{count() - 1})")
    return device


def check_dtype(dtype: Any) -> Any:
    """A torch dtype the zoo supports (fp32, fp16, bf16), from a name or a torch dtype; None passes."""
    if dtype is None:
        return None
    import torch

    if isinstance(dtype, str):
        name = DTYPES.get(dtype.strip().lower())
        if name is None:
            raise InvalidInputError(f"unsupported dtype {dtype!r}: use fp32, fp16 or bf16")
        return getattr(torch, name)
    if isinstance(dtype, torch.dtype):
        if dtype not in (torch.float32, torch.float16, torch.bfloat16):
            # float8 and integer dtypes need a quantisation recipe, not a cast: refuse them.
            raise InvalidInputError(f"unsupported dtype {dtype}: use fp32, fp16 or bf16 "
                                    f"(8-bit weights come from `zoo export --precision w8a8`)")
        return dtype
    raise InvalidInputError(f"dtype must be a torch dtype or a name like 'fp16', got {type(dtype).__name__}")


def check_steps(steps: Any, name: str = "steps") -> int:
    """A whole number of denoising steps >= 1."""
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
        if isinstance(steps, numbers.Real) and float(steps).is_integer():
            steps = int(steps)
        else:
            raise InvalidInputError(f"{say(name + '=', '--' + name + ' ')}{steps!r}: must be a whole number >= 1")
    if steps < 1:
        raise InvalidInputError(f"{say(name + '=', '--' + name + ' ')}{steps}: must be >= 1")
    return int(steps)


def size_bounds(resolution: int) -> tuple[int, int]:
    lo = max(PIXEL_MULTIPLE, int(resolution * SIZE_RANGE[0]) // PIXEL_MULTIPLE * PIXEL_MULTIPLE)
    return lo, int(resolution * SIZE_RANGE[1])


def check_size(size: Any, resolution: int, name: str = "size", multiple: int = PIXEL_MULTIPLE) -> int:
    """A pixel side that the model can take: a multiple of ``multiple`` within ``size_bounds``."""
    label = say(f"{name}=", f"--{name} ")
    if isinstance(size, bool) or not isinstance(size, numbers.Integral):
        raise InvalidInputError(f"{label}{size!r}: must be a whole number of pixels")
    lo, hi = size_bounds(resolution)
    if size % multiple:
        near = max(multiple, round(size / multiple) * multiple)
        raise InvalidInputError(f"{label}{size}: must be a multiple of {multiple} (try {near})")
    if not lo <= size <= hi:
        raise InvalidInputError(f"{label}{size}: outside this model's range {lo}..{hi} (native {resolution})")
    return int(size)


def techniques_list(techniques: Union[str, Iterable[str], Mapping[str, dict], None]) -> Optional[list[tuple[str, dict]]]:
    """``(id, options)`` pairs; a single string is one technique (never its letters)."""
    if techniques is None:
        return None
    if isinstance(techniques, str):
        techniques = [techniques]
    if isinstance(techniques, Mapping):
        items = list(techniques.items())
    else:
        # (id, options) pairs pass through, so normalising twice is harmless
        items = [tuple(t) if isinstance(t, tuple) and len(t) == 2 else (t, {}) for t in techniques]
    for tid, cfg in items:
        if not isinstance(tid, str) or not tid:
            raise InvalidInputError(f"technique ids are strings, got {tid!r}")
        if cfg is not None and not isinstance(cfg, Mapping):
            raise InvalidInputError(f"options of technique {tid!r} must be a dict, got {type(cfg).__name__}")
    return [(t, dict(c or {})) for t, c in items]
