"""Converted transformers: the stock diffusers classes plus EDiT config fields, so ``from_pretrained``
rebuilds the new attention modules and processors (``save_pretrained`` writes them like any weights).

``convert(transformer, **options)`` turns a loaded PixArtTransformer2DModel / SD3Transformer2DModel into
these classes in place (no weight copy): its weights stay, the new modules start at their init
(ConvFusion's last conv at zero). ``unconvert(transformer)`` undoes it (the stock class, processors
and config; the new modules dropped). Imports: torch and diffusers only (this file ships as remote code).
"""
from __future__ import annotations

from typing import Any, Optional

from diffusers import ModelMixin, PixArtTransformer2DModel, SD3Transformer2DModel  # noqa: F401
from diffusers.configuration_utils import FrozenDict, register_to_config

from .modules import EDiTAttnProcessor, Grid, MMEDiTJointAttnProcessor, add_modules

# ModelMixin is imported for diffusers' pipeline loader: model_index.json names this module as the
# transformer's library, and the loader looks the loadable base classes up on it.

# Defaults of the EDiT fields (the zoo's [choice]s; see the plugin's specs.CHOICES)
EDIT_DEFAULTS = {"edit_ratio": 4, "edit_groups": 32, "edit_slope": 0.2, "edit_eps": 1e-6, "edit_convfusion": True}
MM_DEFAULTS = {**EDIT_DEFAULTS, "edit_eta": None, "edit_dual": True}


def _grid_hook(model: Any):
    def hook(module, args, kwargs):
        x = args[0] if args else kwargs["hidden_states"]
        p = module.config.patch_size
        module._edit_grid.hw = (x.shape[-2] // p, x.shape[-1] // p)

    return hook


class _EDiTMixin:
    """The conversion both classes share: attach modules + processors, and the grid pre-hook."""

    def _edit_convert(self) -> None:
        cfg = self.config
        self._edit_grid = Grid()
        procs = dict(self.attn_processors)
        # the stock processors of the converted layers (also for a model built converted: the stock
        # __init__ has just set them), so that remove() can put them back
        self._edit_originals = {name: procs[name] for name, _ in self._edit_targets()}
        for name, attn in self._edit_targets():
            add_modules(attn, cfg.edit_ratio, cfg.edit_groups, cfg.edit_slope, cfg.edit_convfusion)
            procs[name] = self._edit_processor(name)
        # the class's set_attn_processor, bypassing an instance-level refusal the zoo may install
        type(self).set_attn_processor(self, procs)
        self._edit_hook = self.register_forward_pre_hook(_grid_hook(self), with_kwargs=True)

    def _edit_remove(self) -> None:
        """Undo ``_edit_convert`` in place: the stock class, processors and config again, without the
        new modules and the grid hook. Weights the distillation trained (projections) stay as trained."""
        procs = dict(self.attn_processors)
        for name, attn in self._edit_targets():
            procs[name] = self._edit_originals[name]
            del attn.edit_q, attn.edit_kv
        stock = STOCK[type(self).__name__]
        stock.set_attn_processor(self, procs)
        self._edit_hook.remove()
        del self._edit_grid, self._edit_originals, self._edit_hook
        self._internal_dict = FrozenDict({k: v for k, v in self._internal_dict.items() if not k.startswith("edit_")})
        self.__class__ = stock

    def edit_attention_modules(self) -> dict[str, Any]:
        """{processor name: Attention} of the converted (linear) attention layers."""
        return dict(self._edit_targets())


class EDiTPixArtTransformer2DModel(_EDiTMixin, PixArtTransformer2DModel):
    """PixArt-Sigma's transformer with every block's image self-attention (attn1) as EDiT attention;
    cross-attention (attn2) stays softmax SDPA."""

    @register_to_config
    def __init__(self, num_attention_heads: int = 16, attention_head_dim: int = 72, in_channels: int = 4,
                 out_channels: Optional[int] = 8, num_layers: int = 28, dropout: float = 0.0, norm_num_groups: int = 32,
                 cross_attention_dim: Optional[int] = 1152, attention_bias: bool = True, sample_size: int = 128,
                 patch_size: int = 2, activation_fn: str = "gelu-approximate", num_embeds_ada_norm: Optional[int] = 1000,
                 upcast_attention: bool = False, norm_type: str = "ada_norm_single", norm_elementwise_affine: bool = False,
                 norm_eps: float = 1e-6, interpolation_scale: Optional[int] = None,
                 use_additional_conditions: Optional[bool] = None, caption_channels: Optional[int] = None,
                 attention_type: Optional[str] = "default", edit_ratio: int = 4, edit_groups: int = 32,
                 edit_slope: float = 0.2, edit_eps: float = 1e-6, edit_convfusion: bool = True):
        super().__init__(
            num_attention_heads=num_attention_heads, attention_head_dim=attention_head_dim, in_channels=in_channels,
            out_channels=out_channels, num_layers=num_layers, dropout=dropout, norm_num_groups=norm_num_groups,
            cross_attention_dim=cross_attention_dim, attention_bias=attention_bias, sample_size=sample_size,
            patch_size=patch_size, activation_fn=activation_fn, num_embeds_ada_norm=num_embeds_ada_norm,
            upcast_attention=upcast_attention, norm_type=norm_type, norm_elementwise_affine=norm_elementwise_affine,
            norm_eps=norm_eps, interpolation_scale=interpolation_scale,
            use_additional_conditions=use_additional_conditions, caption_channels=caption_channels,
            attention_type=attention_type)
        self._edit_convert()

    def _edit_targets(self):
        return [(f"transformer_blocks.{i}.attn1.processor", b.attn1) for i, b in enumerate(self.transformer_blocks)]

    def _edit_processor(self, name: str):
        return EDiTAttnProcessor(self._edit_grid, self.config.edit_eps)


class MMEDiTSD3Transformer2DModel(_EDiTMixin, SD3Transformer2DModel):
    """SD3(.5)'s MM-DiT with joint attention as MM-EDiT (image->image linear, prompt interactions softmax)
    and, with ``edit_dual``, the MMDiT-X blocks' extra image-only self-attention (attn2) as EDiT attention."""

    @register_to_config
    def __init__(self, sample_size: int = 128, patch_size: int = 2, in_channels: int = 16, num_layers: int = 18,
                 attention_head_dim: int = 64, num_attention_heads: int = 18, joint_attention_dim: int = 4096,
                 caption_projection_dim: int = 1152, pooled_projection_dim: int = 2048, out_channels: int = 16,
                 pos_embed_max_size: int = 96, dual_attention_layers: tuple = (), qk_norm: Optional[str] = None,
                 edit_ratio: int = 4, edit_groups: int = 32, edit_slope: float = 0.2, edit_eps: float = 1e-6,
                 edit_convfusion: bool = True, edit_eta: Optional[float] = None, edit_dual: bool = True):
        super().__init__(
            sample_size=sample_size, patch_size=patch_size, in_channels=in_channels, num_layers=num_layers,
            attention_head_dim=attention_head_dim, num_attention_heads=num_attention_heads,
            joint_attention_dim=joint_attention_dim, caption_projection_dim=caption_projection_dim,
            pooled_projection_dim=pooled_projection_dim, out_channels=out_channels,
            pos_embed_max_size=pos_embed_max_size, dual_attention_layers=tuple(dual_attention_layers), qk_norm=qk_norm)
        self._edit_convert()

    def _edit_targets(self):
        out = []
        for i, b in enumerate(self.transformer_blocks):
            out.append((f"transformer_blocks.{i}.attn.processor", b.attn))
            if self.config.edit_dual and getattr(b, "attn2", None) is not None:
                out.append((f"transformer_blocks.{i}.attn2.processor", b.attn2))
        return out

    def _edit_processor(self, name: str):
        if name.endswith(".attn2.processor"):
            return EDiTAttnProcessor(self._edit_grid, self.config.edit_eps)
        return MMEDiTJointAttnProcessor(self._edit_grid, self.config.edit_eps, self.config.edit_eta)


CONVERTED = {"PixArtTransformer2DModel": (EDiTPixArtTransformer2DModel, EDIT_DEFAULTS),
             "SD3Transformer2DModel": (MMEDiTSD3Transformer2DModel, MM_DEFAULTS)}
STOCK = {"EDiTPixArtTransformer2DModel": PixArtTransformer2DModel, "MMEDiTSD3Transformer2DModel": SD3Transformer2DModel}


def convert(transformer: Any, **options: Any) -> Any:
    """Make a loaded stock transformer an EDiT one in place; ``options`` are EDiT fields without the
    ``edit_`` prefix (ratio, groups, slope, eps, convfusion; eta, dual for SD3)."""
    name = type(transformer).__name__
    if name not in CONVERTED:
        raise ValueError(f"EDiT converts PixArtTransformer2DModel or SD3Transformer2DModel, not {name}")
    cls, defaults = CONVERTED[name]
    fields = {**defaults, **{f"edit_{k}": v for k, v in options.items()}}
    unknown = set(fields) - set(defaults)
    if unknown:
        raise ValueError(f"unknown EDiT options {sorted(unknown)}")
    transformer.__class__ = cls
    transformer.register_to_config(**fields)
    transformer._edit_convert()
    return transformer


def unconvert(transformer: Any) -> Any:
    """Turn a converted transformer back into the stock diffusers class in place (inverse of ``convert``)."""
    name = type(transformer).__name__
    if name not in STOCK:
        raise ValueError(f"not an EDiT-converted transformer: {name}")
    transformer._edit_remove()
    return transformer
