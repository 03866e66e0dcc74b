"""What every exported component goes through first, so that it maps onto phone NPUs the
way on-device exporters of CLIP and UNets prepare them:

- integer inputs (token ids, class labels) cross the graph boundary as int32: NPUs have no
  int64 kernels and ids fit in int32 (kept int64 only where the module refuses int32);
- transformers modules run their eager attention path while traced: the SDPA path builds
  its causal mask as a boolean tensor that the ONNX exporter lowers with IsNaN (not on the
  QNN HTP list), the eager path adds a float mask built with where();
- the transformers' unpatchify (``einsum("nhwpqc->nchpwq")`` on a rank-6 view, in every
  diffusers DiT/PixArt/SD3 transformer) is traced as rank-4 reshapes and permutes, and chains
  of views are folded, so no rank-6 tensor is left (HTP kernels are 4-D);
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
            with eager_attention(self.inner), rank4_unpatchify():
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


UNPATCHIFY = "nhwpqc->nchpwq"


@contextlib.contextmanager
def rank4_unpatchify() -> Iterator[None]:
    """Within the block, ``torch.einsum("nhwpqc->nchpwq", x)`` is computed through rank-4 tensors
    (the same values: a pure permutation); other equations go to torch's einsum."""
    import torch

    original = torch.einsum

    def einsum(equation: str, *operands: Any) -> Any:
        if equation.replace(" ", "") == UNPATCHIFY and len(operands) == 1 and operands[0].dim() == 6:
            x = operands[0]
            n, h, w, p, q, c = x.shape
            y = x.reshape(n * h, w, p, q * c).permute(0, 2, 1, 3)  # (n*h, p, w, q*c)
            y = y.reshape(n, h * p, w * q, c).permute(0, 3, 1, 2)  # (n, c, h*p, w*q)
            return y.reshape(n, c, h, p, w, q)  # the caller's next reshape folds this view away
        return original(equation, *operands)

    torch.einsum = einsum
    try:
        yield
    finally:
        torch.einsum = original


def clean_graph(ep: Any) -> Any:
    """The exported ATen graph as the NPU converters should get it: aliases dropped, view chains folded."""
    return fold_views(drop_aliases(ep))


def fold_views(ep: Any) -> Any:
    """``view(view(x, a), b)`` -> ``view(x, b)``: an intermediate shape (e.g. rank 6) never materialises."""
    import torch

    views = {torch.ops.aten.view.default, torch.ops.aten._unsafe_view.default}
    graph = ep.graph_module.graph
    for node in list(graph.nodes):
        src = node.args[0] if node.op == "call_function" and node.target in views else None
        if isinstance(src, torch.fx.Node) and src.op == "call_function" and src.target in views:
            node.args = (src.args[0], *node.args[1:])
            if not src.users:
                graph.erase_node(src)
    graph.lint()
    ep.graph_module.recompile()
    return ep


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
