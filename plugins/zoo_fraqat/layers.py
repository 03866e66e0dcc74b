"""Fake-quantised linear layers, swapped into a built model in place.

``quantize_linears`` turns every ``nn.Linear`` of a module into a ``QuantLinear`` (same
object, same parameter names, so weights load and save as before). A QuantLinear has three
activation modes: dynamic min/max of each batch (training), static ranges (deployment,
``calibrate_static``), or none; and an export mode that emits real QDQ operators.
"""
from __future__ import annotations

import contextlib
import math
from typing import Any, Iterator, Optional

import torch
from torch import nn

from zoo import ZooError

from .quant import act_levels, act_qparams, fake_quant_act, fake_quant_weight, int_range, quantize_weight, weight_scale


class QuantLinear(nn.Linear):
    """``nn.Linear`` with W_b A_a fake quantisation (weights symmetric, activations min/max)."""

    w_bits: float
    a_bits: Optional[float]
    per_channel: bool

    def setup_quant(self, w_bits: float, a_bits: Optional[float] = 8, per_channel: bool = False) -> "QuantLinear":
        int_range(w_bits)  # validates
        self.w_bits, self.a_bits, self.per_channel = float(w_bits), a_bits, per_channel
        self.qdq_export_on = False
        self._stats: Optional[list] = None
        if "act_min" not in self._buffers:
            dev = self.weight.device
            self.register_buffer("act_min", torch.tensor(float("nan"), device=dev))
            self.register_buffer("act_max", torch.tensor(float("nan"), device=dev))
            self.register_buffer("frozen_scale", None)
        return self

    # -- ranges and scales ------------------------------------------------------------------
    @property
    def static(self) -> bool:
        # a Python flag, refreshed whenever the range buffers are written: export tracing
        # cannot branch on buffer values
        return getattr(self, "_static", False)

    def refresh_static(self) -> None:
        self._static = bool(torch.isfinite(self.act_min)) and bool(torch.isfinite(self.act_max))

    def scale(self) -> torch.Tensor:
        return self.frozen_scale if self.frozen_scale is not None else weight_scale(self.weight, self.w_bits, self.per_channel)

    def codes(self) -> torch.Tensor:
        """The integer weight codes Q (int8 tensor) the deployed layer stores."""
        with torch.no_grad():
            return quantize_weight(self.weight, self.w_bits, self.scale()).to(torch.int8)

    def freeze(self) -> None:
        """Fix the weight scale (deployment: scales are stored, not recomputed)."""
        with torch.no_grad():
            self.frozen_scale = weight_scale(self.weight, self.w_bits, self.per_channel).clone()

    def set_static_range(self, lo: float, hi: float) -> None:
        self.act_min.fill_(lo)
        self.act_max.fill_(hi)
        self.refresh_static()

    # -- deployment (the core export's carried-quantisation protocol, zoo/export/carried.py) ---
    def quant_encodings(self) -> dict:
        """AIMET-style encodings: the weight (per tensor or per channel) and the layer input."""
        qmin, qmax = int_range(self.w_bits)
        bw = math.ceil(self.w_bits)  # the integer container a fractional grid is stored in
        scales = self.scale().detach().reshape(-1).tolist()
        param = [{"bitwidth": bw, "dtype": "int", "is_symmetric": "True", "scale": s, "offset": qmin,
                  "min": qmin * s, "max": qmax * s} for s in scales]
        out = {"param": {"weight": param}, "activation": {}}
        if self.a_bits is not None and self.static:
            s, zp = act_qparams(self.act_min, self.act_max, self.a_bits)
            s, zp = float(s), int(zp)
            levels = act_levels(self.a_bits)
            out["activation"]["input"] = [{"bitwidth": math.ceil(self.a_bits), "dtype": "int", "is_symmetric": "False",
                                           "scale": s, "offset": -zp, "min": -zp * s, "max": (levels - 1 - zp) * s}]
        return out

    @contextlib.contextmanager
    def qdq_export(self) -> Iterator[None]:
        """Forward through real QDQ operators (int codes as constants), for ONNX export."""
        # registers torch.ops.quantized_decomposed; must happen before the exporter builds its
        # op registry, i.e. before export starts, not while tracing
        from torch.ao.quantization.fx._decomposed import quantized_decomposed_lib  # noqa: F401

        self.register_buffer("weight_codes", self.codes(), persistent=False)
        self._range = (float(self.act_min), float(self.act_max))
        self._wscale = float(self.scale().reshape(-1)[0])  # Python numbers: export cannot read buffers
        self.qdq_export_on = True
        try:
            yield
        finally:
            self.qdq_export_on = False
            del self._buffers["weight_codes"]

    # -- forward ------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._stats is not None:  # calibration: per-sample min/max of the layer input
            flat = x.detach().reshape(x.shape[0], -1).float()
            self._stats.append(torch.stack([flat.amin(1), flat.amax(1)], 1))
        if self.qdq_export_on:
            return self._forward_qdq(x)
        if self.a_bits is not None:
            if self.static:
                lo, hi = self.act_min, self.act_max
            else:
                lo, hi = x.detach().amin(), x.detach().amax()
            x = fake_quant_act(x, lo, hi, self.a_bits)
        w = fake_quant_weight(self.weight, self.w_bits, self.per_channel, scale=self.frozen_scale)
        return nn.functional.linear(x, w, self.bias)

    def _forward_qdq(self, x: torch.Tensor) -> torch.Tensor:
        # Real QuantizeLinear/DequantizeLinear operators in the exported graph: int codes as a
        # constant, the scale and zero points as the deployment will hold them.
        qd = torch.ops.quantized_decomposed
        if self.a_bits is not None:
            if self.a_bits != 8 or not self.static:
                raise ZooError("QDQ export needs 8-bit activations with static ranges: run calibrate_static first")
            s, zp = act_qparams(self._range[0], self._range[1], self.a_bits)
            s, zp = float(s), int(zp)
            x = qd.dequantize_per_tensor(qd.quantize_per_tensor(x, s, zp, 0, 255, torch.uint8), s, zp, 0, 255, torch.uint8)
        qmin, qmax = int_range(self.w_bits)
        scale = self.scale()
        if self.per_channel:
            sc = scale.reshape(-1).float()
            w = qd.dequantize_per_channel(self.weight_codes, sc, torch.zeros_like(sc, dtype=torch.int64), 0,
                                          qmin, qmax, torch.int8)
        else:
            w = qd.dequantize_per_tensor(self.weight_codes, self._wscale, 0, qmin, qmax, torch.int8)
        return nn.functional.linear(x, w, self.bias)


def quant_layers(module: nn.Module) -> dict[str, QuantLinear]:
    return {n: m for n, m in module.named_modules() if isinstance(m, QuantLinear)}


def quantize_linears(module: nn.Module, w_bits: float, a_bits: Optional[float] = 8, per_channel: bool = False,
                     skip: tuple[str, ...] = ()) -> dict[str, QuantLinear]:
    """Turn every nn.Linear of ``module`` (except names in ``skip``) into a QuantLinear in place."""
    out = {}
    for name, m in module.named_modules():
        if type(m) is nn.Linear and name not in skip:
            m.__class__ = QuantLinear
            out[name] = m.setup_quant(w_bits, a_bits, per_channel)
        elif isinstance(m, QuantLinear):
            out[name] = m
    if not out:
        taken = {type(m).__name__ for m in module.modules() if isinstance(m, nn.Linear)}
        raise ZooError(f"{type(module).__name__} has no nn.Linear layers to quantise"
                       + (f": they are {', '.join(sorted(taken))} already (apply fraqat alone, or use QUAD's "
                          "shared encodings for LoRA-input layers)" if taken else ""))
    return out


def set_bits(module: nn.Module, w_bits: float) -> None:
    int_range(w_bits)
    for m in quant_layers(module).values():
        m.w_bits = float(w_bits)


@contextlib.contextmanager
def recording(layers: dict[str, QuantLinear]) -> Iterator[dict[str, list]]:
    stats: dict[str, list] = {n: [] for n in layers}
    for n, m in layers.items():
        m._stats = stats[n]
    try:
        yield stats
    finally:
        for m in layers.values():
            m._stats = None


def calibrate_static(layers: dict[str, QuantLinear], run: Any, n_sigma: float = 3.0) -> dict[str, tuple[float, float]]:
    """Static activation ranges for deployment: over the calibration samples ``run()`` feeds,
    each layer's input min and max per sample; range = [mean(min) - k sigma(min), mean(max) + k sigma(max)]."""
    for m in layers.values():
        m.set_static_range(float("nan"), float("nan"))  # dynamic while observing
    with recording(layers) as stats, torch.no_grad():
        run()
    out = {}
    for n, m in layers.items():
        if not stats[n]:
            continue  # a layer the samples never reach keeps dynamic ranges
        s = torch.cat(stats[n]).double()
        sd = s.std(0, unbiased=False)
        lo, hi = float(s[:, 0].mean() - n_sigma * sd[0]), float(s[:, 1].mean() + n_sigma * sd[1])
        m.set_static_range(lo, hi)
        out[n] = (lo, hi)
    return out


