"""One bench row per component, and the papers' figures split per component."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..specs import ModelSpec


@dataclass
class Row:
    model_id: str
    component: str
    task: str
    params: Optional[int] = None
    macs: Optional[int] = None
    attention_macs: Optional[int] = None
    shapes: dict[str, list[int]] = field(default_factory=dict)
    resolution: Optional[int] = None  # the model's output resolution (px) at these shapes
    latency_ms: Optional[float] = None
    latency_iqr_ms: Optional[float] = None
    latency_shapes: dict[str, list[int]] = field(default_factory=dict)
    latency_macs: Optional[int] = None
    latency_res: Optional[int] = None  # output resolution (px) it was timed at
    latency_note: str = ""
    backbone: bool = False
    teacher: Optional[str] = None  # model id of the teacher, for the latency ratio
    teacher_ratio: Optional[float] = None  # latency / the teacher's denoiser, timed interleaved with it
    reported: dict[str, float] = field(default_factory=dict)  # metric kind -> paper figure
    reported_notes: list[str] = field(default_factory=list)  # why measured and paper figures differ
    error: str = ""

    def ratio(self, kind: str) -> Optional[float]:
        """Measured / paper for 'params_m', 'gmacs' or 'gflops' (None without a paper figure)."""
        measured = {"params_m": self.params and self.params / 1e6, "gmacs": self.macs and self.macs / 1e9,
                    "gflops": self.macs and self.macs / 1e9,
                    "gmacs_no_attention": self.macs and (self.macs - (self.attention_macs or 0)) / 1e9}.get(kind)
        ref = self.reported.get(kind)
        return measured / ref if measured and ref else None


_KINDS = {"params_m": 1.0, "params_b": 1000.0, "gmacs": 1.0, "tmacs": 1000.0, "gflops": 1.0, "gmacs_no_attention": 1.0}


def backbone_name(spec: ModelSpec) -> Optional[str]:
    """The denoiser: the component taking a timestep (else the first)."""
    for c in spec.components:
        if any("timestep" in k for k in c.inputs):
            return c.name
    return spec.components[0].name if spec.components else None


def _split_key(spec: ModelSpec, key: str) -> tuple[str, str]:
    names = sorted((c.name for c in spec.components), key=len, reverse=True)
    comp = next((n for n in names if key.startswith(n + "_")), None)
    return (comp or backbone_name(spec) or ""), (key[len(comp) + 1:] if comp else key)


def reported_by_component(spec: ModelSpec) -> dict[str, dict[str, float]]:
    """spec.reported split per component: 'unet_params_m' -> {'unet': {'params_m': ...}};
    keys without a component prefix ('npu_latency_ms') go to the backbone. params_b and tmacs
    are converted to params_m and gmacs."""
    out: dict[str, dict[str, float]] = {}
    for key, value in spec.reported.items():
        comp, kind = _split_key(spec, key)
        if kind in ("params_b", "tmacs"):
            kind, value = ("params_m" if kind.startswith("params") else "gmacs"), value * _KINDS[kind]
        out.setdefault(comp, {})[kind] = value
    return out


def notes_by_component(spec: ModelSpec) -> dict[str, list[str]]:
    """spec.reported_notes per component (same keys as reported)."""
    out: dict[str, list[str]] = {}
    for key, note in spec.reported_notes.items():
        out.setdefault(_split_key(spec, key)[0], []).append(note)
    return out


def teacher_of(spec: ModelSpec, specs: dict[str, ModelSpec]) -> Optional[str]:
    """The registered model ``spec`` is distilled or derived from: its config's 'teacher', else the
    spec whose Hub repo is its base_model (never itself, never a tiny variant)."""
    tid = spec.config.get("teacher") if isinstance(spec.config.get("teacher"), str) else None
    if tid in specs and tid != spec.id:
        return tid
    if spec.base_model:
        for other in specs.values():
            if other.id != spec.id and other.hub_repo == spec.base_model and not other.id.endswith("-tiny"):
                return other.id
    return None
