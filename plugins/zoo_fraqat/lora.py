"""LoRA weights as graph inputs (QUAD, arXiv 2603.29535): ``y = W x + alpha * A (B x)`` with W
a constant of the one base graph and A [out, r], B [r, in] bound at run time.

``LoRAInputLinear`` is an ``nn.Linear`` swapped in place (same parameter names, so the base
weights load as before). A ``LoRABank`` holds named LoRAs zero-padded to the fixed rank and
binds one by name (no rebuild, no reload). ``LoRAGraph`` makes every adapted layer's A and B
named inputs of the exported graph.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional, Union

import torch
from torch import nn

from zoo import CorruptWeightsError, WeightsNotFoundError, ZooError

from .quant import fake_quant_act, fake_quant_weight


class LoRAInputLinear(nn.Linear):
    """nn.Linear plus a LoRA branch whose factors are inputs; optional W/A fake quantisation
    with fixed encodings (QUAD's shared profile)."""

    rank: int

    def setup_lora(self, rank: int) -> "LoRAInputLinear":
        self.rank = rank
        dev = self.weight.device
        self.register_buffer("lora_A", torch.zeros(self.out_features, rank, device=dev), persistent=False)
        self.register_buffer("lora_B", torch.zeros(rank, self.in_features, device=dev), persistent=False)
        self.graph_AB: Optional[tuple[torch.Tensor, torch.Tensor]] = None  # set by LoRAGraph while tracing
        self.w_bits: Optional[float] = None
        self.a_bits: Optional[float] = None
        self.ranges: dict[str, tuple[float, float]] = {}  # "input" / "output" -> static (lo, hi)
        self._observe: Optional[dict] = None
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        A, B = self.graph_AB if self.graph_AB is not None else (self.lora_A, self.lora_B)
        x = self._act(x, "input")
        w = fake_quant_weight(self.weight, self.w_bits) if self.w_bits is not None else self.weight
        y = nn.functional.linear(x, w, self.bias) + nn.functional.linear(nn.functional.linear(x, B), A)
        return self._act(y, "output")

    def _act(self, t: torch.Tensor, where: str) -> torch.Tensor:
        if self._observe is not None:
            flat = t.detach().reshape(t.shape[0], -1).float()
            self._observe.setdefault(where, []).append(torch.stack([flat.amin(1), flat.amax(1)], 1))
        if self.a_bits is not None and where in self.ranges:
            lo, hi = self.ranges[where]
            return fake_quant_act(t, lo, hi, self.a_bits)
        return t


def lora_layers(module: nn.Module) -> dict[str, LoRAInputLinear]:
    return {n: m for n, m in module.named_modules() if isinstance(m, LoRAInputLinear)}


def add_lora_inputs(module: nn.Module, rank: int, targets: Optional[list[str]] = None) -> dict[str, LoRAInputLinear]:
    """Swap the linear layers of ``module`` whose names match ``targets`` (regexes searched in
    the qualified name; None = every nn.Linear) for LoRAInputLinear layers, in place."""
    if rank < 1:
        raise ZooError(f"LoRA rank must be >= 1, got {rank}")
    pats = [re.compile(p) for p in targets] if targets else None
    out = {}
    for name, m in module.named_modules():
        if type(m) is nn.Linear and (pats is None or any(p.search(name) for p in pats)):
            m.__class__ = LoRAInputLinear
            out[name] = m.setup_lora(rank)
    if not out:
        taken = {type(m).__name__ for m in module.modules() if isinstance(m, nn.Linear) and type(m) is not nn.Linear}
        raise ZooError(f"no linear layer of {type(module).__name__} matches the LoRA targets {targets}"
                       + (f" (its linear layers are {', '.join(sorted(taken))} already: apply lora-inputs before "
                          "any other technique that replaces them)" if taken else ""))
    return out


LoRA = dict[str, tuple[torch.Tensor, torch.Tensor]]  # layer -> (A [out, r], B [r, in]), alpha folded into A


def read_lora(src: Union[str, Path, dict], prefix_strip: tuple[str, ...] = ("unet.", "transformer.")) -> LoRA:
    """A LoRA from a peft/diffusers-style safetensors file or state dict: ``{layer}.lora_A.weight``
    (down, [r, in]) and ``{layer}.lora_B.weight`` (up, [out, r]); the file's ``alpha`` metadata
    (default 1) scales the up factor. Returns the spec's names: A = up, B = down."""
    alpha = 1.0
    if isinstance(src, dict):
        sd = src
    else:
        from safetensors import safe_open

        path = Path(src).expanduser()
        if not path.is_file():
            raise WeightsNotFoundError(f"no LoRA file at {path}")
        try:
            with safe_open(str(path), framework="pt") as f:
                sd = {k: f.get_tensor(k) for k in f.keys()}
                alpha = float((f.metadata() or {}).get("alpha", 1.0))
        except Exception as exc:
            raise CorruptWeightsError(f"cannot read the LoRA {path}: {str(exc).splitlines()[0]}") from exc
    out: LoRA = {}
    for k, down in sd.items():
        if not k.endswith(".lora_A.weight"):
            continue
        layer = k[: -len(".lora_A.weight")]
        up = sd.get(f"{layer}.lora_B.weight")
        if up is None:
            raise CorruptWeightsError(f"LoRA has {k} but no {layer}.lora_B.weight")
        for p in prefix_strip:
            layer = layer.removeprefix(p)
        out[layer] = (up.float() * alpha, down.float())
    if not out:
        raise CorruptWeightsError("the LoRA holds no '<layer>.lora_A.weight' / '<layer>.lora_B.weight' pairs")
    return out


def save_lora(lora: LoRA, path: Path) -> Path:
    """peft-style file (alpha folded in, so alpha = 1), written atomically."""
    from safetensors.torch import save_file

    from zoo.atomic import write_file

    sd = {}
    for layer, (A, B) in lora.items():
        sd[f"{layer}.lora_A.weight"] = B.detach().contiguous().clone()
        sd[f"{layer}.lora_B.weight"] = A.detach().contiguous().clone()
    with write_file(path) as tmp:
        save_file(sd, str(tmp), metadata={"alpha": "1.0"})
    return Path(path)


class LoRABank:
    """Named LoRAs zero-padded to the layers' fixed rank; ``use(name)`` binds one in place."""

    def __init__(self, module: nn.Module) -> None:
        self.module = module
        self.layers = lora_layers(module)
        if not self.layers:
            raise ZooError("the model has no LoRA-input layers: apply the lora-inputs technique first")
        self.loras: dict[str, LoRA] = {}
        self.active: Optional[str] = None

    @property
    def names(self) -> list[str]:
        return list(self.loras)

    def add(self, name: str, src: Union[str, Path, dict, LoRA]) -> None:
        lora = src if _is_lora(src) else read_lora(src)
        padded: LoRA = {}
        for layer, (A, B) in lora.items():
            m = self.layers.get(layer)
            if m is None:
                raise ZooError(f"LoRA {name!r} adapts {layer!r}, which is not a LoRA-input layer of this model "
                               f"(e.g. {next(iter(self.layers))!r}); widen the technique's targets")
            r = A.shape[1]
            if r > m.rank or A.shape[0] != m.out_features or B.shape[1] != m.in_features or B.shape[0] != r:
                raise ZooError(f"LoRA {name!r} at {layer}: A {list(A.shape)} / B {list(B.shape)} do not fit "
                               f"[{m.out_features}, <={m.rank}] / [<={m.rank}, {m.in_features}]")
            pa, pb = A.new_zeros(m.out_features, m.rank), B.new_zeros(m.rank, m.in_features)
            pa[:, :r], pb[:r] = A, B
            padded[layer] = (pa, pb)
        self.loras[name] = padded
        if self.active == name:
            self.use(name)

    def buffers(self, name: Optional[str]) -> LoRA:
        """Every layer's (A, B) for LoRA ``name`` (zeros where it does not adapt; None = no LoRA)."""
        if name is not None and name not in self.loras:
            raise ZooError(f"no LoRA named {name!r}; have {self.names}")
        lora = self.loras.get(name, {}) if name else {}
        return {n: lora.get(n) or (m.lora_A.new_zeros(m.lora_A.shape), m.lora_B.new_zeros(m.lora_B.shape))
                for n, m in self.layers.items()}

    @torch.no_grad()
    def use(self, name: Optional[str]) -> None:
        """Bind LoRA ``name`` (None: the bare base model): buffers are overwritten, nothing rebuilt."""
        for n, (A, B) in self.buffers(name).items():
            m = self.layers[n]
            m.lora_A.copy_(A)
            m.lora_B.copy_(B)
        self.active = name


def _is_lora(obj: Any) -> bool:
    return isinstance(obj, dict) and bool(obj) and all(isinstance(v, tuple) and len(v) == 2 for v in obj.values())


def input_name(layer: str, which: str) -> str:
    """The graph input name of a layer's LoRA factor: ``lora_a__down_blocks_0_..._to_q`` (lower
    case: the ONNX exporter lower-cases input names)."""
    return (f"lora_{which}__" + re.sub(r"[^0-9A-Za-z]", "_", layer)).lower()


def merged_copy(module: nn.Module, lora: LoRA) -> nn.Module:
    """A plain copy of ``module`` with ``W + A @ B`` merged into each adapted layer (the
    per-task compiled model QUAD replaces)."""
    import copy

    out = copy.deepcopy(module)
    for name, m in list(out.named_modules()):
        if isinstance(m, LoRAInputLinear):
            if name in lora:
                A, B = lora[name]
                m.weight.data += A @ B
            m.__class__ = nn.Linear
    return out


class LoRAGraph(nn.Module):
    """``forward(**base_inputs, lora_A__<layer>=..., lora_B__<layer>=...)``: the component
    with every adapted layer's factors as named inputs (export this)."""

    def __init__(self, component: nn.Module, layers: dict[str, LoRAInputLinear]) -> None:
        super().__init__()
        self.component = component
        self.layer_names = list(layers)
        self._layers = layers  # plain dict: the modules are registered under component already

    def lora_inputs(self, lora: LoRA) -> dict[str, torch.Tensor]:
        out = {}
        for n in self.layer_names:
            A, B = lora[n]
            out[input_name(n, "A")], out[input_name(n, "B")] = A, B
        return out

    def forward(self, **inputs: torch.Tensor) -> torch.Tensor:
        try:
            for n in self.layer_names:
                self._layers[n].graph_AB = (inputs.pop(input_name(n, "A")), inputs.pop(input_name(n, "B")))
            return self.component(**inputs)
        finally:
            for n in self.layer_names:
                self._layers[n].graph_AB = None
