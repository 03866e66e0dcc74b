"""TOC-SR's surrogate library: parameter-efficient stand-ins for the blocks of the expanded UNet.

Options per slot (a slot is one ResNet or one transformer of UNet2DConditionModel, named by its
module path, e.g. ``up_blocks.1.resnets.2``) [choice from toc-sr.md]:

* ResNets: ``R`` (the teacher's own ResnetBlock2D), ``R2`` / ``R4`` (bottleneck ResNet: 1x1 in to
  out/2 or out/4 channels, 3x3, 1x1 out, time embedding added in the bottleneck).
* Transformers: ``A`` (the teacher's own), ``A2`` / ``A4`` (the same Transformer2DModel with half or
  a quarter of the inner width: proj_in/proj_out map to the narrower width, heads keep 40 (or 64)
  channels), ``-`` (dropped: identity, the transformer is residual).

Bottlenecks cut parameters ~14x at the same place in the graph, and at 1280 channels they cost
few MACs in absolute terms (16x16 and 8x8 grids), so they are where TOC-SR's parameter budget is
won; high-resolution slots carry the MACs.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

RESNET_OPTIONS = ("R", "R2", "R4", "R8")
ATTENTION_OPTIONS = ("A", "A2", "A4", "A8", "-")


class BottleneckResnet(nn.Module):
    """``(input_tensor, temb) -> tensor``: the ResnetBlock2D interface with a 1x1-3x3-1x1 body."""

    def __init__(self, in_channels: int, out_channels: int, temb_channels: int, width: int, groups: int = 32,
                 eps: float = 1e-5) -> None:
        super().__init__()
        g_in = groups if in_channels % groups == 0 else 1
        # GroupNorm needs >= 2 values per group even on a 1x1 map (toy widths at the deepest level)
        g_mid = next(g for g in range(min(groups, width // 2), 0, -1) if width % g == 0) if width >= 2 else 1
        self.in_channels, self.out_channels = in_channels, out_channels
        self.norm1 = nn.GroupNorm(g_in, in_channels, eps=eps)
        self.conv1 = nn.Conv2d(in_channels, width, 1)
        self.time_emb_proj = nn.Linear(temb_channels, width)
        self.norm2 = nn.GroupNorm(g_mid, width, eps=eps)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)
        self.norm3 = nn.GroupNorm(g_mid, width, eps=eps)
        self.conv3 = nn.Conv2d(width, out_channels, 1)
        self.nonlinearity = nn.SiLU()
        self.conv_shortcut = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else None

    def forward(self, input_tensor: torch.Tensor, temb: Any = None, *args: Any, **kwargs: Any) -> torch.Tensor:
        h = self.conv1(self.nonlinearity(self.norm1(input_tensor)))
        if temb is not None:
            h = h + self.time_emb_proj(self.nonlinearity(temb))[:, :, None, None]
        h = self.conv2(self.nonlinearity(self.norm2(h)))
        h = self.conv3(self.nonlinearity(self.norm3(h)))
        skip = input_tensor if self.conv_shortcut is None else self.conv_shortcut(input_tensor)
        return skip + h


class DroppedTransformer(nn.Module):
    """A removed transformer: returns its input (the transformer's own residual path alone)."""

    def forward(self, hidden_states: torch.Tensor, *args: Any, return_dict: bool = True, **kwargs: Any) -> Any:
        if not return_dict:
            return (hidden_states,)
        from diffusers.models.modeling_outputs import Transformer2DModelOutput

        return Transformer2DModelOutput(sample=hidden_states)


def surrogate_for(teacher_block: nn.Module, option: str) -> nn.Module:
    """A surrogate with option ``option`` for ``teacher_block`` (a ResnetBlock2D or Transformer2DModel),
    built on the teacher block's device, random init."""
    from diffusers.models.resnet import ResnetBlock2D
    from diffusers.models.transformers.transformer_2d import Transformer2DModel

    from zoo import ZooError

    if isinstance(teacher_block, ResnetBlock2D):
        if option not in RESNET_OPTIONS:
            raise ZooError(f"a ResNet slot takes one of {list(RESNET_OPTIONS)}, got {option!r}")
        if option == "R":
            return teacher_block
        cin, cout = teacher_block.in_channels, teacher_block.out_channels
        temb = teacher_block.time_emb_proj.in_features
        groups = teacher_block.norm1.num_groups
        return BottleneckResnet(cin, cout, temb, cout // int(option[1:]), groups=groups, eps=teacher_block.norm1.eps)
    if isinstance(teacher_block, Transformer2DModel):
        if option not in ATTENTION_OPTIONS:
            raise ZooError(f"a transformer slot takes one of {list(ATTENTION_OPTIONS)}, got {option!r}")
        if option == "A":
            return teacher_block
        if option == "-":
            return DroppedTransformer()
        cfg = teacher_block.config
        inner = cfg.num_attention_heads * cfg.attention_head_dim // int(option[1:])
        head_dim = cfg.attention_head_dim if inner % cfg.attention_head_dim == 0 else inner
        return Transformer2DModel(inner // head_dim, head_dim, in_channels=cfg.in_channels, num_layers=cfg.num_layers,
                                  cross_attention_dim=cfg.cross_attention_dim, norm_num_groups=cfg.norm_num_groups,
                                  use_linear_projection=cfg.use_linear_projection, upcast_attention=cfg.upcast_attention)
    raise ZooError(f"no surrogate for a {type(teacher_block).__name__}")


def slots(unet: nn.Module) -> dict[str, str]:
    """Every searchable slot of a UNet2DConditionModel: module path -> 'resnet' | 'attention'."""
    from diffusers.models.resnet import ResnetBlock2D
    from diffusers.models.transformers.transformer_2d import Transformer2DModel

    out = {}
    for name, m in unet.named_modules():
        if isinstance(m, (ResnetBlock2D, BottleneckResnet)):
            out[name] = "resnet"
        elif isinstance(m, (Transformer2DModel, DroppedTransformer)):
            out[name] = "attention"
    return out


def options(kind: str) -> tuple[str, ...]:
    return RESNET_OPTIONS if kind == "resnet" else ATTENTION_OPTIONS


def replace(root: nn.Module, path: str, module: nn.Module) -> None:
    parent, _, leaf = path.rpartition(".")
    owner = root.get_submodule(parent) if parent else root
    if isinstance(owner, (nn.ModuleList, nn.Sequential)):
        owner[int(leaf)] = module
    else:
        setattr(owner, leaf, module)
