"""Real low-bit weights on disk: each quantised linear layer's integer codes (two 4-bit codes
per byte when they fit in [-8, 7], else one int8 per code), its scales and static activation
range, plus every other tensor of the module in float32, in one safetensors file.

Loading sets ``weight = S * Q`` and the frozen scale, so the loaded model computes exactly
what the saved one did.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from zoo import CorruptWeightsError, WeightsNotFoundError, ZooError

from .layers import QuantLinear, quant_layers, quantize_linears

FORMAT = "zoo-fraqat-packed/1"
_QUANT_KEYS = ("weight", "act_min", "act_max", "frozen_scale")


def pack_int4(codes: torch.Tensor) -> torch.Tensor:
    """Two's-complement nibbles, two per byte (first code in the low nibble)."""
    flat = codes.reshape(-1).to(torch.int16)
    if flat.numel() and (flat.min() < -8 or flat.max() > 7):
        raise ZooError("codes outside [-8, 7] do not fit in 4 bits")
    if flat.numel() % 2:
        flat = torch.cat([flat, flat.new_zeros(1)])
    nib = (flat & 0xF).to(torch.uint8)
    return nib[0::2] | (nib[1::2] << 4)


def unpack_int4(packed: torch.Tensor, numel: int) -> torch.Tensor:
    lo, hi = (packed & 0xF).to(torch.int16), (packed >> 4).to(torch.int16)
    flat = torch.stack([lo, hi], 1).reshape(-1)[:numel]
    return torch.where(flat >= 8, flat - 16, flat).to(torch.int8)


def packed_tensors(module: torch.nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    layers = quant_layers(module)
    if not layers:
        raise ZooError("the model has no quantised layers to pack: apply the fraqat technique first")
    tensors: dict[str, torch.Tensor] = {}
    info: dict[str, Any] = {}
    for name, m in layers.items():
        codes = m.codes()
        four = bool(codes.numel()) and int(codes.min()) >= -8 and int(codes.max()) <= 7
        tensors[f"{name}.weight_codes"] = pack_int4(codes) if four else codes.reshape(-1).clone()
        tensors[f"{name}.weight_scale"] = m.scale().detach().float().reshape(-1).clone()
        tensors[f"{name}.act_range"] = torch.stack([m.act_min, m.act_max]).detach().float().clone()
        info[name] = {"shape": list(m.weight.shape), "bits": m.w_bits, "act_bits": m.a_bits,
                      "per_channel": m.per_channel, "packing": "int4x2" if four else "int8"}
    skip = {f"{n}.{k}" for n in layers for k in _QUANT_KEYS}
    for k, v in module.state_dict().items():
        if k not in skip:
            tensors[k] = v.detach().float().contiguous().clone() if v.is_floating_point() else v.detach().clone()
    return tensors, info


def save_packed(module: torch.nn.Module, path: Path, extra: dict[str, Any] | None = None) -> Path:
    """Write the packed file atomically (zoo.atomic: complete or absent)."""
    from safetensors.torch import save_file

    from zoo.atomic import write_file

    tensors, info = packed_tensors(module)
    meta = {"format": FORMAT, "layers": json.dumps(info), **{k: json.dumps(v) for k, v in (extra or {}).items()}}
    with write_file(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return Path(path)


def read_packed(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    from safetensors import safe_open

    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsNotFoundError(f"no packed FraQAT weights at {path}: train with techniques={{'fraqat': "
                                   "{'train': True, 'out_dir': DIR}} first")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:
        raise CorruptWeightsError(f"cannot read {path}: {str(exc).splitlines()[0]}") from exc
    if meta.get("format") != FORMAT:
        raise CorruptWeightsError(f"{path} is not a packed FraQAT file (format {meta.get('format')!r}, want {FORMAT})")
    return tensors, json.loads(meta["layers"])


def load_packed(module: torch.nn.Module, path: Path) -> dict[str, QuantLinear]:
    """Quantise ``module``'s linear layers as the file says and load its codes, scales,
    ranges and remaining tensors."""
    tensors, info = read_packed(path)
    names = {n for n, _ in module.named_modules()}
    missing = sorted(set(info) - names)
    if missing:
        raise ZooError(f"{path} quantises layers this model does not have (e.g. {missing[0]}): wrong model id?")
    first = next(iter(info.values()))
    others = tuple(n for n, m in module.named_modules() if isinstance(m, torch.nn.Linear) and n not in info)
    layers = quantize_linears(module, first["bits"], first["act_bits"], first["per_channel"], skip=others)
    with torch.no_grad():
        for name, m in layers.items():
            li = info[name]
            m.setup_quant(li["bits"], li["act_bits"], li["per_channel"])
            n = int(torch.tensor(li["shape"]).prod())
            raw = tensors.pop(f"{name}.weight_codes")
            codes = unpack_int4(raw, n) if li["packing"] == "int4x2" else raw
            scale = tensors.pop(f"{name}.weight_scale")
            scale = scale.reshape(-1, 1) if li["per_channel"] else scale.reshape(1, 1)
            m.frozen_scale = scale.to(m.weight.device)
            m.weight.copy_(codes.reshape(li["shape"]).float() * scale)
            lo, hi = tensors.pop(f"{name}.act_range").tolist()
            m.set_static_range(lo, hi)
    result = module.load_state_dict(tensors, strict=False)
    quant_keys = {f"{n}.{k}" for n in layers for k in _QUANT_KEYS}
    missing_rest = [k for k in result.missing_keys if k not in quant_keys]
    if result.unexpected_keys or missing_rest:
        raise CorruptWeightsError(f"{path} does not match this model: unexpected {result.unexpected_keys[:3]}, "
                                  f"missing {missing_rest[:3]}")
    return layers


def size_report(module: torch.nn.Module, path: Path) -> dict[str, Any]:
    """Bytes on disk of the packed file vs the float32 module, total and linear weights alone."""
    layers = quant_layers(module)
    fp32_total = sum(v.numel() * 4 for v in module.state_dict().values() if v.is_floating_point())
    lin_fp32 = sum(m.weight.numel() * 4 for m in layers.values())
    tensors, _ = read_packed(path)
    lin_packed = sum(tensors[f"{n}.weight_codes"].numel() * tensors[f"{n}.weight_codes"].element_size()
                     + tensors[f"{n}.weight_scale"].numel() * 4 for n in layers)
    file_bytes = Path(path).stat().st_size
    return {"file_bytes": file_bytes, "fp32_bytes": fp32_total, "ratio_total": fp32_total / file_bytes,
            "linear_fp32_bytes": lin_fp32, "linear_packed_bytes": lin_packed, "ratio_linear": lin_fp32 / lin_packed}
