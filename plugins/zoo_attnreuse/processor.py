"""The attention processor that caches and reuses attention maps (arXiv 2401.01008).

On a compute step a layer runs as before; on the compute step right before one of its reuse
steps it also forms the explicit map ``A = softmax(Q K^T / sqrt(d))`` (SDPA hides it) and
keeps it; on a reuse step it skips W_Q, W_K, Q K^T and the softmax and returns ``A V`` with a
fresh V. Which of the three a layer does at a step comes from its ``Controller``.
"""
from __future__ import annotations

from typing import Any, Optional

COMPUTE, CACHE, REUSE = "compute", "cache", "reuse"


class ReuseAttnProcessor:
    """Wraps a layer's original processor; mirrors diffusers' AttnProcessor2_0 on cache/reuse steps."""

    def __init__(self, controller: Any, name: str, original: Any):
        self.controller = controller
        self.name = name
        self.original = original

    # Same signature as AttnProcessor2_0: Attention.forward filters cross_attention_kwargs by it.
    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, *args, **kwargs):
        mode = self.controller.mode(self.name)
        if mode == COMPUTE:
            return self.original(attn, hidden_states, encoder_hidden_states, attention_mask, temb, *args, **kwargs)
        return self._explicit(attn, hidden_states, encoder_hidden_states, attention_mask, temb, reuse=mode == REUSE)

    def _explicit(self, attn, hidden_states, encoder_hidden_states, attention_mask, temb, reuse: bool):
        import torch
        import torch.nn.functional as F

        residual = hidden_states
        if attn.spatial_norm is not None:
            hidden_states = attn.spatial_norm(hidden_states, temb)
        input_ndim = hidden_states.ndim
        if input_ndim == 4:
            batch_size, channel, height, width = hidden_states.shape
            hidden_states = hidden_states.view(batch_size, channel, height * width).transpose(1, 2)
        batch_size, sequence_length, _ = (
            hidden_states.shape if encoder_hidden_states is None else encoder_hidden_states.shape
        )
        if attention_mask is not None:
            attention_mask = attn.prepare_attention_mask(attention_mask, sequence_length, batch_size)
            attention_mask = attention_mask.view(batch_size, attn.heads, -1, attention_mask.shape[-1])
        if attn.group_norm is not None:
            hidden_states = attn.group_norm(hidden_states.transpose(1, 2)).transpose(1, 2)

        context = hidden_states
        if encoder_hidden_states is not None:
            context = attn.norm_encoder_hidden_states(encoder_hidden_states) if attn.norm_cross else encoder_hidden_states
        value = attn.to_v(context)
        head_dim = value.shape[-1] // attn.heads
        value = value.view(batch_size, -1, attn.heads, head_dim).transpose(1, 2)

        if reuse:
            amap = self.controller.cached(self.name, batch_size)
            out = torch.matmul(amap, value)
        else:
            query = attn.to_q(hidden_states).view(batch_size, -1, attn.heads, head_dim).transpose(1, 2)
            key = attn.to_k(context).view(batch_size, -1, attn.heads, head_dim).transpose(1, 2)
            if attn.norm_q is not None:
                query = attn.norm_q(query)
            if attn.norm_k is not None:
                key = attn.norm_k(key)
            amap = attention_map(query, key, attention_mask)
            self.controller.store(self.name, amap)
            if self.controller.cfg.caching_output == "sdpa":  # the stock kernel: this step's output is bit-identical
                out = F.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask, dropout_p=0.0, is_causal=False)
            else:  # the paper's formulation: out = A V from the map just formed
                out = torch.matmul(amap, value)
        out = out.transpose(1, 2).reshape(batch_size, -1, attn.heads * head_dim).to(value.dtype)
        out = attn.to_out[0](out)
        out = attn.to_out[1](out)
        if input_ndim == 4:
            out = out.transpose(-1, -2).reshape(batch_size, channel, height, width)
        if attn.residual_connection:
            out = out + residual
        return out / attn.rescale_output_factor


def attention_map(query: Any, key: Any, mask: Optional[Any] = None) -> Any:
    """softmax(Q K^T / sqrt(d) + mask) as SDPA computes it (default scale, additive or boolean mask),
    softmax in float32, returned in the query's dtype."""
    import torch

    scores = torch.matmul(query, key.transpose(-1, -2)).float() * (query.shape[-1] ** -0.5)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask.float()
    return torch.softmax(scores, dim=-1).to(query.dtype)
