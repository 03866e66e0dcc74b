"""Export ONE base graph whose adapted layers take their LoRA factors as named inputs, with
the core's ONNX exporter; run it with any LoRA's buffers."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from .lora import LoRA, LoRABank, LoRAGraph, lora_layers


def lora_graph(model: Any, spec: Any, component: str) -> tuple[LoRAGraph, dict]:
    """(the graph module, its example base inputs) for ``component`` of ``model``."""
    from zoo.components import component_modules

    mod, inputs = component_modules(model, spec, [component])[component]
    inner = getattr(mod, "inner", mod)  # the core's component wrapper holds the denoiser as .inner
    return LoRAGraph(mod, lora_layers(inner)), inputs


def export_lora_graph(model: Any, spec: Any, component: str, path: Path, opset: int = 18,
                      inputs: Optional[dict] = None) -> dict[str, Any]:
    """Write ``path`` (.onnx): base weights as constants, ``lora_a__*`` / ``lora_b__*`` inputs; the
    base inputs at the spec's static shapes unless ``inputs`` gives example tensors."""
    from zoo.export.onnx_export import export_onnx

    graph, spec_inputs = lora_graph(model, spec, component)
    inputs = spec_inputs if inputs is None else inputs
    bank = LoRABank(getattr(graph.component, "inner", graph.component))
    zeros = graph.lora_inputs(bank.buffers(None))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    info = export_onnx(graph, {**inputs, **zeros}, Path(path), opset, optimize=True)
    info["lora_inputs"] = sorted(zeros)
    return info


def run_lora_graph(path: Path, graph: LoRAGraph, inputs: dict, lora: LoRA, sess: Optional[Any] = None) -> Any:
    """onnxruntime output of the exported graph fed ``lora``'s (padded) buffers."""
    from zoo.export.onnx_export import run_onnx

    return run_onnx(Path(path), {**inputs, **graph.lora_inputs(lora)}, sess)
