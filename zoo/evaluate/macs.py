"""Count multiply-accumulates (MACs) of one forward pass, attention included.

torch's FlopCounterMode has formulas for the CUDA attention kernels but not for the CPU one
(``aten._scaled_dot_product_flash_attention_for_cpu``), so on CPU it silently counts 0 for
attention. We register that formula, and watch ``F.scaled_dot_product_attention`` at the
Python level to know how much of the total is attention (QK^T and AV products), whichever
kernel the dispatcher picks (on meta tensors it decomposes into plain bmm calls).

Counting on meta tensors allocates nothing: a model built with ``zoo.build(id, device='meta')``
gives the MACs of full-size models in seconds. A real model is counted under FakeTensorMode
(shapes only, no arithmetic) and, if the model does something fake tensors cannot, by running it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class MacCount:
    total: int  # MACs of the whole forward, attention included
    attention: int  # MACs of the attention score products (QK^T and AV) alone
    by_op: dict[str, int] = field(default_factory=dict)
    # MACs under each module, keyed by its path from the root class, e.g. 'NanoSDUNet.down_blocks.0'
    by_module: dict[str, int] = field(default_factory=dict)

    @property
    def without_attention(self) -> int:
        return self.total - self.attention

    @property
    def gmacs(self) -> float:
        return self.total / 1e9


def sdpa_macs(q_shape, k_shape, v_shape) -> int:
    """MACs of softmax(Q K^T) V for (..., L, E) queries, (..., S, E) keys, (..., S, Ev) values."""
    *qb, L, E = q_shape
    *_, S, Ev = v_shape
    n = 1
    # Batch dims broadcast (GQA: fewer key heads than query heads): every query head does the work.
    for d in qb:
        n *= int(d)
    return n * L * S * (int(E) + int(Ev))


def _attention_ops() -> list:
    """The fused SDPA kernels FlopCounterMode lacks a formula for (the ones present in this torch)."""
    import torch

    names = [
        "_scaled_dot_product_flash_attention_for_cpu",
        "_scaled_dot_product_fused_attention_overrideable",
        "_scaled_dot_product_attention_math_for_mps",
    ]
    return [getattr(torch.ops.aten, n) for n in names if hasattr(torch.ops.aten, n)]


def _sdpa_flops(query_shape, key_shape, value_shape, *args: Any, out_shape=None, **kwargs: Any) -> int:
    # FlopCounterMode counts FLOPs (2 per MAC).
    return 2 * sdpa_macs(query_shape, key_shape, value_shape)


def _attention_watcher(counter: list[int]):
    """A TorchFunctionMode adding up the MACs of every F.scaled_dot_product_attention call."""
    import torch.nn.functional as F
    from torch.overrides import TorchFunctionMode

    class Watch(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if func is F.scaled_dot_product_attention:
                q, k, v = (args + tuple(kwargs.get(n) for n in ("query", "key", "value")[len(args):]))[:3]
                counter[0] += sdpa_macs(q.shape, k.shape, v.shape)
            return func(*args, **kwargs)

    return Watch()


def count_macs(fn: Callable[..., Any], inputs: dict[str, Any], module: Any = None, mode: str = "auto") -> MacCount:
    """MACs of ``fn(**inputs)``.

    ``mode``: 'meta' (inputs moved to meta; the module must be on meta), 'fake' (FakeTensorMode,
    no arithmetic), 'real' (runs it), or 'auto' (meta if the module's parameters are on meta,
    else fake, falling back to real if fake tensors fail on this model).
    """
    import torch

    if mode == "auto":
        p = next(iter(module.parameters()), None) if module is not None else None
        if p is not None and p.device.type == "meta":
            mode = "meta"
        else:
            try:
                return count_macs(fn, inputs, module, mode="fake")
            except Exception:  # data-dependent control flow etc.: count by running it
                mode = "real"
    if mode == "meta":
        inputs = {k: v.to("meta") if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}
    if mode == "fake":
        from torch._subclasses.fake_tensor import FakeTensorMode

        with FakeTensorMode(allow_non_fake_inputs=True) as fm:
            fake_inputs = {k: fm.from_tensor(v) if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}
            return _count(fn, fake_inputs)
    return _count(fn, inputs)


def _count(fn: Callable[..., Any], inputs: dict[str, Any]) -> MacCount:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    attn = [0]
    mapping = {op: _sdpa_flops for op in _attention_ops()}
    with torch.no_grad(), FlopCounterMode(display=False, custom_mapping=mapping) as fc, _attention_watcher(attn):
        fn(**inputs)
    counts = fc.get_flop_counts()
    by_op = {str(k).split(".")[-1]: v // 2 for k, v in counts.get("Global", {}).items()}
    by_module = {k: sum(v.values()) // 2 for k, v in counts.items() if k != "Global"}
    return MacCount(total=fc.get_total_flops() // 2, attention=attn[0], by_op=by_op, by_module=by_module)


def module_macs(module: Any, inputs: dict[str, Any], mode: str = "auto") -> MacCount:
    """MACs of ``module(**inputs)``."""
    return count_macs(module, inputs, module=module, mode=mode)


def profile_module(module: Any, inputs: dict[str, Any], mode: str = "auto") -> tuple[int, MacCount]:
    """(parameters used, MACs) of ``module(**inputs)`` in one pass.

    Parameters are those of the sub-modules the forward actually calls (a VAE decoder is not
    its encoder), plus those owned directly by ``module``; tied weights count once.
    """
    called: set[int] = set()
    hooks = [m.register_forward_pre_hook(lambda mod, _a: called.add(id(mod))) for m in module.modules()]
    try:
        macs = count_macs(module, inputs, module=module, mode=mode)
    finally:
        for h in hooks:
            h.remove()
    seen: set[int] = set()
    total = 0
    for m in module.modules():
        if id(m) in called or m is module:
            for p in m.parameters(recurse=False):
                if id(p) not in seen:
                    seen.add(id(p))
                    total += p.numel()
    return total, macs
