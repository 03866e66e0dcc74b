"""FraQAT's quantisers (arXiv 2510.14823): symmetric narrow-range weights, asymmetric min/max
activations, real-valued ("fractional") bit widths, straight-through rounding.

The integer range for b bits is ``[-floor(2^(b-1)), floor(2^(b-1)) - 1]`` (INT5.5 = [-22, 21]).
"""
from __future__ import annotations

import math
from typing import Any, Optional

from zoo import ZooError


def int_range(bits: float) -> tuple[int, int]:
    """(qmin, qmax) of the signed grid for ``bits`` (any real number >= 2)."""
    if not bits >= 2:
        raise ZooError(f"weight bits must be a number >= 2, got {bits!r}")
    half = math.floor(2 ** (bits - 1))
    return -half, half - 1


def act_levels(bits: float) -> int:
    """Number of unsigned activation levels: floor(2^b) (256 at 8 bits)."""
    if not bits >= 2:
        raise ZooError(f"activation bits must be a number >= 2, got {bits!r}")
    return math.floor(2**bits)


def round_ste(x: Any) -> Any:
    """round() forward, identity backward (straight-through estimator)."""
    return x + (x.round() - x).detach()


def weight_scale(w: Any, bits: float, per_channel: bool = False) -> Any:
    """S = max|W| / qmax (per tensor, or per output channel), detached: the scale follows the
    weights, the gradient flows to the weights through the STE only."""
    import torch

    _, qmax = int_range(bits)
    a = w.detach().abs()
    m = a.amax(dim=tuple(range(1, w.dim())), keepdim=True) if per_channel else a.max().reshape([1] * w.dim())
    return torch.clamp(m, min=1e-12) / qmax


def quantize_weight(w: Any, bits: float, scale: Any) -> Any:
    """Integer codes Q = clamp(round(W / S), qmin, qmax) (float tensor of integers, STE)."""
    qmin, qmax = int_range(bits)
    return round_ste(w / scale).clamp(qmin, qmax)


def fake_quant_weight(w: Any, bits: float, per_channel: bool = False, scale: Optional[Any] = None) -> Any:
    s = weight_scale(w, bits, per_channel) if scale is None else scale
    return quantize_weight(w, bits, s) * s


def act_qparams(lo: Any, hi: Any, bits: float) -> tuple[Any, Any]:
    """(scale, zero point) of the asymmetric grid over [lo, hi]: S = (max - min) / 2^b, zero
    point rounded to an integer so that 0.0 is exact and a uint8 QDQ export matches."""
    import torch

    levels = act_levels(bits)
    lo = torch.clamp(torch.as_tensor(lo, dtype=torch.float32), max=0.0)
    hi = torch.clamp(torch.as_tensor(hi, dtype=torch.float32), min=0.0)
    scale = torch.clamp((hi - lo) / levels, min=1e-12)
    zp = torch.clamp(torch.round(-lo / scale), 0, levels - 1)
    return scale, zp


def fake_quant_act(x: Any, lo: Any, hi: Any, bits: float) -> Any:
    """x_b = S * (clamp(round(x / S) + zp, 0, 2^b - 1) - zp), the paper's min/max quantiser on
    an integer zero point; STE through the rounding."""
    scale, zp = act_qparams(lo, hi, bits)
    q = (round_ste(x / scale) + zp).clamp(0, act_levels(bits) - 1)
    return (q - zp) * scale
