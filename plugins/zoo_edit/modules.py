"""EDiT's new attention pieces (arXiv 2503.16726) as torch modules and diffusers attention processors.

- ``ConvFusion``: the query-side token mixer, ``Q = ReLU(W_Q(X + Conv1x1(LeakyReLU(GN(Conv3x3(X))))))``.
- ``SpatialCompressor``: ``phi(X) = DWConv3x3_stride2(Linear(X))`` for keys and values (N -> N/4 tokens);
  the Linear is the layer's own ``to_k`` / ``to_v``.
- ``linear_attention``: ``y_i = Q_i (sum_j K_j^T V_j) / (Q_i sum_j K_j^T)`` per head, O(N d^2).
- ``EDiTAttnProcessor``: image self-attention (PixArt-Sigma's attn1, SD3.5-M's extra attn2) made linear.
- ``MMEDiTJointAttnProcessor``: SD3 joint attention; image->image linear, every interaction with prompt
  tokens softmax, image rows mixed as ``eta * linear + (1 - eta) * softmax(Q_I, K_P, V_P)``.

The new modules hang on the diffusers ``Attention`` module (``edit_q``, ``edit_kv``) so they are in its
state dict; the processors hold no weights. They read the latent grid (h, w) from a ``Grid`` the model
fills in a forward pre-hook. Imports: torch and diffusers only (this file ships as remote code).
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn


class Grid:
    """The patch grid (h, w) of the current forward, shared by a model's EDiT processors."""

    def __init__(self) -> None:
        self.hw: Optional[tuple[int, int]] = None

    def get(self, n_tokens: int) -> tuple[int, int]:
        if self.hw is None or self.hw[0] * self.hw[1] != n_tokens:
            raise RuntimeError(f"EDiT attention got {n_tokens} image tokens but the model's grid is {self.hw}: "
                               "call the converted transformer, not one attention layer on its own")
        return self.hw


def _to_map(x: torch.Tensor, h: int, w: int) -> torch.Tensor:
    b, n, c = x.shape
    return x.transpose(1, 2).reshape(b, c, h, w)


def _to_tokens(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(2).transpose(1, 2)


class ConvFusion(nn.Module):
    """``Conv1x1(LeakyReLU(GN(Conv3x3(X))))`` added to the query input; the 1x1 conv starts at zero so a
    fresh conversion computes ``ReLU(W_Q X)`` exactly."""

    def __init__(self, dim: int, ratio: int = 4, groups: int = 32, slope: float = 0.2):
        super().__init__()
        hidden = max(1, dim // ratio)
        self.conv3 = nn.Conv2d(dim, hidden, 3, padding=1)
        # 32 groups where C/r divides by 32 (PixArt-Sigma 288, SD3.5-M 384); else the largest common divisor
        self.norm = nn.GroupNorm(math.gcd(groups, hidden), hidden)
        self.act = nn.LeakyReLU(slope)
        self.conv1 = nn.Conv2d(hidden, dim, 1)
        nn.init.zeros_(self.conv1.weight)
        nn.init.zeros_(self.conv1.bias)

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        return _to_tokens(self.conv1(self.act(self.norm(self.conv3(_to_map(x, h, w))))))


class SpatialCompressor(nn.Module):
    """Depthwise 3x3 stride-2 convs on the projected keys and values (padding 1, averaging init)."""

    def __init__(self, dim: int):
        super().__init__()
        self.k = nn.Conv2d(dim, dim, 3, stride=2, padding=1, groups=dim)
        self.v = nn.Conv2d(dim, dim, 3, stride=2, padding=1, groups=dim)
        for conv in (self.k, self.v):
            nn.init.constant_(conv.weight, 1.0 / 9.0)
            nn.init.zeros_(conv.bias)

    def forward(self, key: torch.Tensor, value: torch.Tensor, h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
        return _to_tokens(self.k(_to_map(key, h, w))), _to_tokens(self.v(_to_map(value, h, w)))


def linear_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Per-head linear attention of non-negative q (B,H,N,d), k (B,H,M,d) with v (B,H,M,e); K^T V and
    the normaliser accumulate in float32."""
    qf, kf = q.float(), k.float()
    kv = kf.transpose(-1, -2) @ v.float()                      # B,H,d,e
    ksum = kf.sum(dim=2, keepdim=True)                          # B,H,1,d
    num = qf @ kv                                               # B,H,N,e
    den = (qf * ksum).sum(dim=-1, keepdim=True) + eps           # B,H,N,1
    return (num / den).to(q.dtype)


def _heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    b, n, c = x.shape
    return x.view(b, n, heads, c // heads).transpose(1, 2)


def _merge(x: torch.Tensor) -> torch.Tensor:
    b, h, n, d = x.shape
    return x.transpose(1, 2).reshape(b, n, h * d)


def image_qkv(attn, x: torch.Tensor, grid: Grid):
    """Normalised per-head (query, compressed key, compressed value) of image tokens x (B,N,C):
    query through ConvFusion (if present), keys/values through the spatial compressor."""
    h, w = grid.get(x.shape[1])
    q_in = x + attn.edit_q(x, h, w) if getattr(attn, "edit_q", None) is not None else x
    query = _heads(attn.to_q(q_in), attn.heads)
    key, value = attn.edit_kv(attn.to_k(x), attn.to_v(x), h, w)
    key, value = _heads(key, attn.heads), _heads(value, attn.heads)
    if attn.norm_q is not None:
        query = attn.norm_q(query)
    if attn.norm_k is not None:
        key = attn.norm_k(key)
    return query, key, value


class EDiTAttnProcessor:
    """Image self-attention as EDiT linear compressed attention (mirrors AttnProcessor2_0's I/O)."""

    def __init__(self, grid: Grid, eps: float = 1e-6):
        self.grid = grid
        self.eps = eps

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, *args, **kwargs):
        if encoder_hidden_states is not None:
            raise RuntimeError("EDiTAttnProcessor replaces self-attention only; cross-attention stays softmax")
        residual = hidden_states
        query, key, value = image_qkv(attn, hidden_states, self.grid)
        out = _merge(linear_attention(F.relu(query), F.relu(key), value, self.eps)).to(query.dtype)
        out = attn.to_out[1](attn.to_out[0](out))
        if attn.residual_connection:
            out = out + residual
        return out / attn.rescale_output_factor


class MMEDiTJointAttnProcessor:
    """SD3 joint attention (mirrors JointAttnProcessor2_0's I/O). Image rows:
    ``eta * A_lin(Q_I, K_I, V_I) + (1 - eta) * A_sdpa(Q_I, K_P, V_P)``, eta = N_I / (N_I + N_P) from the
    uncompressed image-token count unless fixed; prompt rows: softmax over [compressed K_I; K_P]."""

    def __init__(self, grid: Grid, eps: float = 1e-6, eta: Optional[float] = None):
        self.grid = grid
        self.eps = eps
        self.eta = eta

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, *args, **kwargs):
        query, key, value = image_qkv(attn, hidden_states, self.grid)
        lin = linear_attention(F.relu(query), F.relu(key), value, self.eps)
        if encoder_hidden_states is None:
            img = _merge(lin).to(query.dtype)
            return attn.to_out[1](attn.to_out[0](img))
        pq = _heads(attn.add_q_proj(encoder_hidden_states), attn.heads)
        pk = _heads(attn.add_k_proj(encoder_hidden_states), attn.heads)
        pv = _heads(attn.add_v_proj(encoder_hidden_states), attn.heads)
        if attn.norm_added_q is not None:
            pq = attn.norm_added_q(pq)
        if attn.norm_added_k is not None:
            pk = attn.norm_added_k(pk)
        n_i, n_p = hidden_states.shape[1], encoder_hidden_states.shape[1]
        eta = self.eta if self.eta is not None else n_i / (n_i + n_p)
        soft = F.scaled_dot_product_attention(query, pk, pv, dropout_p=0.0, is_causal=False)
        img = _merge(eta * lin + (1.0 - eta) * soft).to(query.dtype)
        img = attn.to_out[1](attn.to_out[0](img))
        txt = F.scaled_dot_product_attention(pq, torch.cat([key, pk], dim=2), torch.cat([value, pv], dim=2),
                                             dropout_p=0.0, is_causal=False)
        txt = _merge(txt).to(query.dtype)
        if not attn.context_pre_only:
            txt = attn.to_add_out(txt)
        return img, txt


def add_modules(attn, ratio: int, groups: int, slope: float, convfusion: bool) -> None:
    """Attach ConvFusion (unless ablated) and the spatial compressor to a diffusers Attention, on the
    device and dtype of its projections."""
    weight = attn.to_q.weight
    dim = weight.shape[0]
    attn.edit_q = ConvFusion(dim, ratio, groups, slope).to(weight.device, weight.dtype) if convfusion else None
    attn.edit_kv = SpatialCompressor(dim).to(weight.device, weight.dtype)
