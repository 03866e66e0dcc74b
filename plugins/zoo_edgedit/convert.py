"""Weights into EdgeDiT: diffusers' DiT-XL/2 layout -> the EdgeDiT teacher (one shared
embedder), and a teacher block -> a narrowed or merged block.

Initialisation of reduced blocks [choice] (the paper gives none): keep the most important
parts of the teacher block, by weight magnitude,
- MLP: the hidden units with the largest ||W_in[k,:]|| * ||W_out[:,k]||;
- attention: the heads with the largest ||Wq_h||*||Wk_h|| + ||Wv_h||*||Wo_h||, and in each kept
  head the query/key dims with the largest ||Wq[d]||*||Wk[d]|| and value dims with the largest
  ||Wv[d]||*||Wo[:,d]||; queries are scaled by sqrt(d_new/d_old) so that the logits keep their
  scale under the 1/sqrt(head_dim) of the narrower head;
- adaLN modulation: copied (it stays at the residual width);
- a merged pair: the first block of the pair [spec: merge proxy].
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Optional

import torch

from zoo import ZooError

from .model import EdgeDiTBlock, EdgeDiTTransformer2DModel

# DiTTransformer2DModel config keys EdgeDiT shares (the rest are fixed in DiT-XL/2's family)
_DIT_KEYS = ("num_attention_heads", "attention_head_dim", "in_channels", "out_channels", "num_layers", "sample_size",
             "patch_size", "activation_fn", "num_embeds_ada_norm", "attention_bias", "norm_elementwise_affine",
             "norm_eps")
EMB_PREFIX = "norm1.emb."


def config_from_dit(dit_config: Mapping[str, Any], blocks: Optional[list[dict]] = None,
                    per_block_embedders: bool = False) -> dict[str, Any]:
    """EdgeDiT config for a DiTTransformer2DModel config (and optional per-block specs)."""
    if dit_config.get("norm_type", "ada_norm_zero") != "ada_norm_zero":
        raise ZooError(f"EdgeDiT converts adaLN-Zero DiTs; this one has norm_type={dit_config.get('norm_type')!r}")
    cfg = {k: dit_config[k] for k in _DIT_KEYS if k in dit_config}
    cfg["blocks"] = blocks
    cfg["per_block_embedders"] = per_block_embedders
    return cfg


def shared_embedder(state: Mapping[str, torch.Tensor], num_layers: int, atol: float = 0.0) -> dict[str, torch.Tensor]:
    """The per-block timestep/class embedders of a diffusers DiT state dict, checked to be copies
    of block 0's (as the conversion from the original DiT writes them); returns block 0's."""
    first = {k[len(f"transformer_blocks.0.{EMB_PREFIX}"):]: v for k, v in state.items()
             if k.startswith(f"transformer_blocks.0.{EMB_PREFIX}")}
    if not first:
        raise ZooError("the state dict has no transformer_blocks.0.norm1.emb.*: not a diffusers DiT layout")
    for i in range(1, num_layers):
        for k, v in first.items():
            other = state.get(f"transformer_blocks.{i}.{EMB_PREFIX}{k}")
            if other is None or other.shape != v.shape or not torch.allclose(other.float(), v.float(), atol=atol, rtol=0):
                raise ZooError(f"block {i}'s embedder differs from block 0's at {k}: EdgeDiT shares one embedder and "
                               "would not reproduce this model (was it fine-tuned per block?)")
    return first


def teacher_state_from_dit(state: Mapping[str, torch.Tensor], num_layers: int) -> dict[str, torch.Tensor]:
    """diffusers DiT state dict -> EdgeDiT teacher state dict (embedders verified, one kept)."""
    out = {f"emb.{k}": v for k, v in shared_embedder(state, num_layers).items()}
    for k, v in state.items():
        if EMB_PREFIX in k:
            continue
        out[k] = v
    return out


def _norms(w: torch.Tensor, dim: int) -> torch.Tensor:
    return w.float().pow(2).sum(dim).sqrt()


def _top(scores: torch.Tensor, n: int) -> torch.Tensor:
    return scores.topk(n).indices.sort().values


def slice_block(src: Mapping[str, torch.Tensor], heads: int, head_dim: int, mlp_ratio: float, dim: int,
                new_heads: int, new_head_dim: int, new_mlp_ratio: float) -> dict[str, torch.Tensor]:
    """State dict of an EdgeDiTBlock of the new widths from a teacher block's state dict ``src``."""
    if new_heads > heads or new_head_dim > head_dim or new_mlp_ratio > mlp_ratio:
        raise ZooError(f"a reduced block cannot be wider than its teacher ({new_heads}x{new_head_dim} heads, MLP "
                       f"{new_mlp_ratio} vs {heads}x{head_dim}, {mlp_ratio})")
    out = {k: v.clone() for k, v in src.items()}
    if (new_heads, new_head_dim) != (heads, head_dim):
        q, k, v = (src[f"attn1.to_{n}.weight"].reshape(heads, head_dim, dim) for n in "qkv")
        bq, bk, bv = (src[f"attn1.to_{n}.bias"].reshape(heads, head_dim) for n in "qkv")
        o = src["attn1.to_out.0.weight"].reshape(dim, heads, head_dim)
        head_score = (_norms(q, (1, 2)) * _norms(k, (1, 2)) + _norms(v, (1, 2)) * _norms(o, (0, 2)))
        kept = _top(head_score, new_heads)
        qk_idx = torch.stack([_top(_norms(q[h], 1) * _norms(k[h], 1), new_head_dim) for h in kept])
        v_idx = torch.stack([_top(_norms(v[h], 1) * _norms(o[:, h], 0), new_head_dim) for h in kept])
        scale = math.sqrt(new_head_dim / head_dim)

        def pick(w, b, idx):
            return (torch.stack([w[h][i] for h, i in zip(kept, idx)]).reshape(-1, dim),
                    torch.stack([b[h][i] for h, i in zip(kept, idx)]).reshape(-1))

        out["attn1.to_q.weight"], out["attn1.to_q.bias"] = (t * scale for t in pick(q, bq, qk_idx))
        out["attn1.to_k.weight"], out["attn1.to_k.bias"] = pick(k, bk, qk_idx)
        out["attn1.to_v.weight"], out["attn1.to_v.bias"] = pick(v, bv, v_idx)
        out["attn1.to_out.0.weight"] = torch.stack([o[:, h][:, i] for h, i in zip(kept, v_idx)], 1).reshape(dim, -1)
    if new_mlp_ratio != mlp_ratio:
        w1, b1 = src["ff.net.0.proj.weight"], src["ff.net.0.proj.bias"]
        w2 = src["ff.net.2.weight"]
        n = int(dim * new_mlp_ratio)
        idx = _top(_norms(w1, 1) * _norms(w2, 0), n)
        out["ff.net.0.proj.weight"], out["ff.net.0.proj.bias"] = w1[idx].clone(), b1[idx].clone()
        out["ff.net.2.weight"] = w2[:, idx].clone()
    return out


def block_state_dict(model: torch.nn.Module, index: int) -> dict[str, torch.Tensor]:
    prefix = f"transformer_blocks.{index}."
    return {k[len(prefix):]: v for k, v in model.state_dict().items() if k.startswith(prefix)}


def teacher_widths(config: Any) -> dict[str, Any]:
    return {"heads": config.num_attention_heads, "head_dim": config.attention_head_dim,
            "mlp_ratio": config.mlp_ratio, "dim": config.num_attention_heads * config.attention_head_dim}


def reduced_block(teacher: EdgeDiTTransformer2DModel, spec: Mapping[str, Any]) -> EdgeDiTBlock:
    """A block of ``spec``'s widths initialised from the teacher's block ``spec['source']``."""
    c = teacher.config
    tw = teacher_widths(c)
    blk = EdgeDiTBlock(tw["dim"], spec["heads"], spec["head_dim"], spec["mlp_ratio"], c.activation_fn,
                       c.attention_bias, c.norm_eps, c.norm_elementwise_affine,
                       c.num_embeds_ada_norm if c.per_block_embedders else None)
    state = slice_block(block_state_dict(teacher, spec["source"]), new_heads=spec["heads"],
                        new_head_dim=spec["head_dim"], new_mlp_ratio=spec["mlp_ratio"], **tw)
    blk.load_state_dict(state, strict=True)
    return blk.to(dtype=next(teacher.parameters()).dtype)


def _cast(model: Any, dtype: torch.dtype) -> Any:
    return model if next(model.parameters()).dtype == dtype else model.to(dtype=dtype)


def from_teacher(teacher: EdgeDiTTransformer2DModel, blocks: Optional[list[dict]]) -> EdgeDiTTransformer2DModel:
    """A student of per-block specs ``blocks``, every part initialised from the all-original
    EdgeDiT ``teacher`` (kept blocks sliced, merged pairs from their first block)."""
    if teacher.config.blocks is not None:
        raise ZooError("from_teacher needs the all-original EdgeDiT (blocks=None) as teacher")
    student = EdgeDiTTransformer2DModel(**{**dict(teacher.config), "blocks": blocks})
    state = {k: v for k, v in teacher.state_dict().items() if not k.startswith("transformer_blocks.")}
    for j, spec in enumerate(student.block_specs):
        for k, v in reduced_block(teacher, spec).state_dict().items():
            state[f"transformer_blocks.{j}.{k}"] = v
    student.load_state_dict(state, strict=True)
    return _cast(student, next(teacher.parameters()).dtype)


def from_dit(dit: Any, blocks: Optional[list[dict]] = None, embedders: str = "auto") -> EdgeDiTTransformer2DModel:
    """EdgeDiT from a diffusers DiTTransformer2DModel (e.g. facebook/DiT-XL-2-256's transformer):
    the teacher with ``blocks=None``, else a student initialised from it.

    ``embedders``: 'shared' (the per-block copies are verified equal and one is kept; an error
    otherwise), 'per-block' (diffusers' layout kept, for DiTs trained with the stock class, whose
    copies drifted apart), or 'auto' (shared when they are copies)."""
    if embedders not in ("auto", "shared", "per-block"):
        raise ZooError(f"embedders must be auto, shared or per-block, not {embedders!r}")
    state = dit.state_dict()
    n = dit.config["num_layers"]
    per_block = embedders == "per-block"
    if embedders == "auto":
        try:
            shared_embedder(state, n)
        except ZooError:
            per_block = True
    cfg = config_from_dit(dict(dit.config), per_block_embedders=per_block)
    with torch.device("cpu"):
        teacher = EdgeDiTTransformer2DModel(**cfg)
    teacher.load_state_dict(dict(state) if per_block else teacher_state_from_dit(state, n), strict=True)
    teacher = _cast(teacher, dit.dtype).eval()
    return teacher if blocks is None else from_teacher(teacher, blocks).eval()


def compose_narrow(attn_proxy: EdgeDiTBlock, mlp_proxy: EdgeDiTBlock) -> EdgeDiTBlock:
    """A block with both reductions from the two single-reduction proxies of the same teacher
    block: attention and the first three adaLN chunks (shift/scale/gate of attention) from
    ``attn_proxy``, the MLP and the last three chunks from ``mlp_proxy``."""
    import copy

    blk = copy.deepcopy(attn_proxy)
    blk.ff = copy.deepcopy(mlp_proxy.ff)
    dim = blk.norm3.normalized_shape[0]
    with torch.no_grad():
        for p in ("weight", "bias"):
            getattr(blk.norm1.linear, p)[3 * dim:] = getattr(mlp_proxy.norm1.linear, p)[3 * dim:]
    return blk
