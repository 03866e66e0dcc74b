"""What every exported component goes through first, so that it maps onto phone NPUs the
way on-device exporters of CLIP and UNets prepare them:

- integer inputs (token ids, class labels) cross the graph boundary as int32: NPUs have no
  int64 kernels and ids fit in int32 (kept int64 only where the module refuses int32);
- transformers modules run their eager attention path while traced: the SDPA path builds
  its causal mask as a boolean tensor that the ONNX exporter lowers with IsNaN (not on the
  QNN HTP list), the eager path adds a float mask built with where();
- no-op ``aten.alias`` nodes are dropped from the exported ATen graph (coremltools has no
  handler for them).
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator


def npu_ready(module: Any, inputs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """(module, inputs) to export instead of ``module(**inputs)``: same outputs, NPU-clean graph."""
    import torch

    wrapped = EagerAttention(module)
    narrow = {k: v.to(torch.int32) if isinstance(v, torch.Tensor) and v.dtype == torch.int64 else v
              for k, v in inputs.items()}
    if any(narrow[k] is not inputs[k] for k in inputs):
        try:
            with torch.no_grad():
                wrapped(**narrow)
        except (RuntimeError, TypeError, IndexError):  # e.g. gather/scatter indices must be int64
            narrow = inputs
    return wrapped, narrow


def _eager_attention_module():
    import torch

    class EagerAttentionModule(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner
            self.component_name = getattr(inner, "component_name", None)

        def forward(self, **inputs: Any) -> Any:
            with eager_attention(self.inner):
                return self.inner(**inputs)

    return EagerAttentionModule


def EagerAttention(module: Any) -> Any:  # noqa: N802  (a class made on first use: torch imports lazily)
    return _eager_attention_module()(module)


@contextlib.contextmanager
def eager_attention(module: Any) -> Iterator[None]:
    """Every transformers model inside ``module`` uses eager attention within the block."""
    configs = []
    for m in module.modules():
        cfg = getattr(m, "config", None)
        impl = getattr(cfg, "_attn_implementation", None)
        if impl is not None and impl != "eager" and hasattr(m, "set_attn_implementation"):
            configs.append((m, impl))
    for m, _ in configs:
        m.set_attn_implementation("eager")
    try:
        yield
    finally:
        for m, impl in configs:
            m.set_attn_implementation(impl)


def drop_aliases(ep: Any) -> Any:
    """Remove ``aten.alias`` (a no-op view in a functional graph) from an ExportedProgram, in place."""
    import torch

    graph = ep.graph_module.graph
    for node in list(graph.nodes):
        if node.op == "call_function" and node.target in (torch.ops.aten.alias.default, torch.ops.aten.alias_copy.default):
            node.replace_all_uses_with(node.args[0])
            graph.erase_node(node)
    graph.lint()
    ep.graph_module.recompile()
    return ep
