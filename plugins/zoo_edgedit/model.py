"""EdgeDiT's transformer: DiT with heterogeneous blocks and one shared conditioning embedder.

diffusers' DiTTransformer2DModel cannot hold blocks of different widths, and it gives every
block its own timestep + class embedder (copies of the original DiT's single one, 749.8M
params instead of 675M). This class keeps DiT's parameter names (``pos_embed``,
``transformer_blocks.i.{norm1.linear, attn1, norm3, ff}``, ``proj_out_1/2``) so the public
DiT-XL/2 weights load into the kept parts, with ONE ``emb`` shared by all blocks and the
output layer, and takes a per-block spec list (see ``space.py``). Its forward has
DiTTransformer2DModel's signature, so ``DiTPipeline(transformer=EdgeDiT..., vae, scheduler)``
samples with it.
"""
from __future__ import annotations

from typing import Any, Optional

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.attention import FeedForward
from diffusers.models.attention_processor import Attention
from diffusers.models.embeddings import CombinedTimestepLabelEmbeddings, PatchEmbed
from diffusers.models.modeling_outputs import Transformer2DModelOutput
from diffusers.models.modeling_utils import ModelMixin
from diffusers.models.normalization import AdaLayerNormZero
from torch import nn

from zoo import ZooError


class EdgeDiTBlock(nn.Module):
    """A DiT block (adaLN-Zero) whose attention and MLP widths are free; the residual stream and
    the adaLN modulation stay at ``dim``. ``forward(hidden_states, emb, timestep, class_labels)``:
    ``emb`` is the shared conditioning vector (timestep + class embedding); a block with its own
    embedder (``num_embeddings``: a stock diffusers DiT trained per block) computes it from
    ``timestep`` and ``class_labels`` instead."""

    def __init__(self, dim: int, heads: int, head_dim: int, mlp_ratio: float, activation_fn: str = "gelu-approximate",
                 attention_bias: bool = True, norm_eps: float = 1e-5, norm_elementwise_affine: bool = False,
                 num_embeddings: Optional[int] = None) -> None:
        super().__init__()
        self.norm1 = AdaLayerNormZero(dim, num_embeddings=num_embeddings)  # .linear: dim -> 6 * dim
        # q/k/v: dim -> heads*head_dim, out: heads*head_dim -> dim
        self.attn1 = Attention(query_dim=dim, heads=heads, dim_head=head_dim, bias=attention_bias, out_bias=True)
        self.norm3 = nn.LayerNorm(dim, norm_eps, norm_elementwise_affine)
        self.ff = FeedForward(dim, mult=mlp_ratio, activation_fn=activation_fn)

    def forward(self, hidden_states: torch.Tensor, emb: Optional[torch.Tensor] = None,
                timestep: Optional[torch.Tensor] = None, class_labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        # BasicTransformerBlock's ada_norm_zero path, with the shared embedding computed once outside
        # (a block with its own embedder: AdaLayerNormZero embeds timestep and class itself)
        norm_h, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.norm1(
            hidden_states, timestep, class_labels, hidden_dtype=hidden_states.dtype, emb=emb)
        hidden_states = gate_msa.unsqueeze(1) * self.attn1(norm_h) + hidden_states
        norm_h = self.norm3(hidden_states) * (1 + scale_mlp[:, None]) + shift_mlp[:, None]
        return gate_mlp.unsqueeze(1) * self.ff(norm_h) + hidden_states


class EdgeDiTTransformer2DModel(ModelMixin, ConfigMixin):
    """DiT with per-block specs. ``blocks=None`` is the teacher (every block original);
    otherwise a list of ``{"source", "span", "mlp_ratio", "heads", "head_dim"}`` (``space.py``).
    The other arguments are DiTTransformer2DModel's, for the teacher. ``per_block_embedders``
    keeps diffusers' layout (an embedder in every block, the output layer reading block 0's) for
    DiTs whose per-block embedders were trained apart and are no longer copies."""

    _supports_gradient_checkpointing = True
    _skip_layerwise_casting_patterns = ["pos_embed", "norm"]

    @register_to_config
    def __init__(
        self,
        num_attention_heads: int = 16,
        attention_head_dim: int = 72,
        in_channels: int = 4,
        out_channels: Optional[int] = None,
        num_layers: int = 28,
        sample_size: int = 32,
        patch_size: int = 2,
        activation_fn: str = "gelu-approximate",
        num_embeds_ada_norm: int = 1000,
        attention_bias: bool = True,
        norm_elementwise_affine: bool = False,
        norm_eps: float = 1e-5,
        mlp_ratio: float = 4.0,
        blocks: Optional[list[dict[str, Any]]] = None,
        per_block_embedders: bool = False,
    ) -> None:
        super().__init__()
        dim = num_attention_heads * attention_head_dim
        self.inner_dim = dim
        self.out_channels = in_channels if out_channels is None else out_channels
        self.gradient_checkpointing = False
        self.pos_embed = PatchEmbed(height=sample_size, width=sample_size, patch_size=patch_size,
                                    in_channels=in_channels, embed_dim=dim)
        # shared by every block and the output layer (the original DiT's layout)
        self.emb = None if per_block_embedders else CombinedTimestepLabelEmbeddings(num_embeds_ada_norm, dim)
        own = num_embeds_ada_norm if per_block_embedders else None
        self.transformer_blocks = nn.ModuleList(
            EdgeDiTBlock(dim, b["heads"], b["head_dim"], b["mlp_ratio"], activation_fn, attention_bias, norm_eps,
                         norm_elementwise_affine, own)
            for b in self.block_specs
        )
        self.norm_out = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.proj_out_1 = nn.Linear(dim, 2 * dim)
        self.proj_out_2 = nn.Linear(dim, patch_size * patch_size * self.out_channels)

    @property
    def block_specs(self) -> list[dict[str, Any]]:
        c = self.config
        if c.blocks is None:
            return [{"source": i, "span": 1, "mlp_ratio": c.mlp_ratio, "heads": c.num_attention_heads,
                     "head_dim": c.attention_head_dim} for i in range(c.num_layers)]
        return [dict(b) for b in c.blocks]

    # -- forward in three parts, so the distillation views can reuse them ------------------------
    def embed(self, hidden_states: torch.Tensor, timestep: torch.Tensor, class_labels: torch.Tensor):
        """Patch tokens and the conditioning every block and the output layer read: the shared
        embedding, or ``(timestep, class_labels)`` for per-block embedders."""
        if timestep is None or class_labels is None:
            raise ZooError("EdgeDiT is class-conditional: pass timestep and class_labels")
        tokens = self.pos_embed(hidden_states)
        if self.emb is None:
            return tokens, (None, timestep, class_labels)
        return tokens, (self.emb(timestep, class_labels, hidden_dtype=tokens.dtype), None, None)

    def run_blocks(self, tokens: torch.Tensor, cond: tuple) -> torch.Tensor:
        for block in self.transformer_blocks:
            if torch.is_grad_enabled() and self.gradient_checkpointing:
                tokens = self._gradient_checkpointing_func(block, tokens, *cond)
            else:
                tokens = block(tokens, *cond)
        return tokens

    def unembed(self, tokens: torch.Tensor, cond: tuple) -> torch.Tensor:
        """DiT's final layer (adaLN on the conditioning) and unpatchify."""
        emb, timestep, class_labels = cond
        if emb is None:  # per-block embedders: diffusers' output layer reads block 0's
            emb = self.transformer_blocks[0].norm1.emb(timestep, class_labels, hidden_dtype=tokens.dtype)
        shift, scale = self.proj_out_1(F.silu(emb)).chunk(2, dim=1)
        x = self.proj_out_2(self.norm_out(tokens) * (1 + scale[:, None]) + shift[:, None])
        p, c = self.config.patch_size, self.out_channels
        h = w = int(x.shape[1] ** 0.5)
        # unpatchify [n, (i j), (a b ch)] -> [n, ch, (i a), (j b)] in rank-4 steps (diffusers goes
        # through rank 6, which NPUs reject): rows (n i), a, j, (b ch) -> (n i), a, (j b), ch
        x = x.reshape(-1, w, p, p * c).transpose(1, 2).reshape(-1, h * p, w * p, c)
        return x.permute(0, 3, 1, 2)

    def forward(
        self,
        hidden_states: torch.Tensor,
        timestep: Optional[torch.Tensor] = None,
        class_labels: Optional[torch.Tensor] = None,
        cross_attention_kwargs: Optional[dict[str, Any]] = None,
        return_dict: bool = True,
    ) -> Any:
        tokens, cond = self.embed(hidden_states, timestep, class_labels)
        out = self.unembed(self.run_blocks(tokens, cond), cond)
        return Transformer2DModelOutput(sample=out) if return_dict else (out,)
