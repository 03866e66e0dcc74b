"""Teachers cut into NanoSD's six stages, with the students' stage interface.

What a stage's FwGD target is [choice]: the default teacher is **nanosd-l**, i.e.
``NanoSDUNet.from_teacher(sd15_unet)`` with every block original (SD1.5 weights with E4, mid
block and D4 dropped). Its stages see exactly the inputs a student's stages will see in the
assembled 3-stage network (D3 reads E3's output directly), so a block trained against it
slots in without a distribution shift. ``StagedTeacher`` also runs the full 4-stage SD1.5
stage by stage, for the alternative of distilling against SD1.5 itself: there E1-E2 see the
same inputs, E3's target is its output before the downsampler (the student E3 has none; the
downsampled tensor only fed E4), and D3's input is D4's upsampled output rather than E3's.

Capture teacher stage inputs/outputs by registering forward hooks on ``staged.stages[i]`` and
calling ``staged(sample, timestep, encoder_hidden_states)``: hooks see the same positional
arguments as a student stage takes.
"""
from __future__ import annotations

from typing import Any, Optional

import torch
from diffusers.models.unets.unet_2d_condition import UNet2DConditionOutput
from torch import nn

from zoo import ZooError

from .unet import DecoderStage, EncoderStage, NanoSDUNet, _check_sd_layout, _kept_levels


def _wrap_encoder(block: nn.Module, keep_downsampler: bool) -> EncoderStage:
    down = block.downsamplers[0] if keep_downsampler and block.downsamplers is not None else None
    # The stage holds the teacher's own modules (shared, not copied).
    return EncoderStage("RARA", list(block.resnets), dict(enumerate(block.attentions)), down)


def _wrap_decoder(block: nn.Module) -> DecoderStage:
    up = block.upsamplers[0] if block.upsamplers is not None else None
    return DecoderStage("RARARA", list(block.resnets), dict(enumerate(block.attentions)), up)


class StagedTeacher(nn.Module):
    """``unet`` (UNet2DConditionModel in SD1.5 layout, 4- or 3-stage, or a NanoSDUNet) run
    through six stage modules with NanoSD's stage interface; output equals ``unet``'s."""

    def __init__(self, unet: nn.Module) -> None:
        super().__init__()
        self.unet = unet
        if isinstance(unet, NanoSDUNet):
            self.stages = nn.ModuleList(unet.stages)
            self.deep = 0
            return
        if not hasattr(unet, "down_blocks") or not hasattr(unet, "up_blocks"):
            raise ZooError(f"a NanoSD teacher is a UNet2DConditionModel or NanoSDUNet, not {type(unet).__name__}")
        _check_sd_layout(unet)
        kept = _kept_levels(unet)
        self.deep = len(unet.down_blocks) - kept  # stages that surgery removes (E4 / D4)
        enc = [_wrap_encoder(unet.down_blocks[i], keep_downsampler=i < kept - 1) for i in range(kept)]
        dec = [_wrap_decoder(b) for b in unet.up_blocks[self.deep:]]
        self.stages = nn.ModuleList([*enc, *dec])

    @property
    def kept_levels(self) -> int:
        return len(self.stages) // 2

    def forward(self, sample: torch.Tensor, timestep, encoder_hidden_states: torch.Tensor,
                timestep_cond: Optional[torch.Tensor] = None, cross_attention_kwargs: Optional[dict[str, Any]] = None,
                return_dict: bool = True):
        if isinstance(self.unet, NanoSDUNet):  # its own forward already calls self.stages
            return self.unet(sample, timestep, encoder_hidden_states, timestep_cond=timestep_cond,
                             cross_attention_kwargs=cross_attention_kwargs, return_dict=return_dict)
        u, cak, ehs = self.unet, cross_attention_kwargs, encoder_hidden_states
        n = self.kept_levels
        up_factor = 2 ** u.num_upsamplers
        fwd_size = any(d % up_factor for d in sample.shape[-2:])
        emb = u.time_embedding(u.get_time_embed(sample, timestep), timestep_cond)

        hidden = u.conv_in(sample)
        skips: tuple[torch.Tensor, ...] = (hidden,)
        for stage in self.stages[:n]:
            hidden, s = stage(hidden, emb, ehs, cross_attention_kwargs=cak)
            skips += s
        if self.deep:  # the removed part of the full teacher: E3's downsampler, E4, mid, D4
            e3 = u.down_blocks[n - 1]
            if e3.downsamplers is not None:
                hidden = e3.downsamplers[0](hidden)
                skips += (hidden,)
            for block in u.down_blocks[n:]:
                kw = {"encoder_hidden_states": ehs, "cross_attention_kwargs": cak} if getattr(block, "has_cross_attention", False) else {}
                hidden, s = block(hidden_states=hidden, temb=emb, **kw)
                skips += s
        if u.mid_block is not None:
            if getattr(u.mid_block, "has_cross_attention", False):
                hidden = u.mid_block(hidden, emb, encoder_hidden_states=ehs, cross_attention_kwargs=cak)
            else:
                hidden = u.mid_block(hidden, emb)
        decoders = [*u.up_blocks[: self.deep], *self.stages[n:]]
        for i, block in enumerate(decoders):
            k = len(block.resnets) if i < self.deep else block.num_skips
            res, skips = skips[-k:], skips[:-k]
            size = skips[-1].shape[2:] if fwd_size and i < len(decoders) - 1 else None
            if i < self.deep:
                kw = {"encoder_hidden_states": ehs, "cross_attention_kwargs": cak} if getattr(block, "has_cross_attention", False) else {}
                hidden = block(hidden_states=hidden, temb=emb, res_hidden_states_tuple=res, upsample_size=size, **kw)
            else:
                hidden = block(hidden, res, emb, ehs, cross_attention_kwargs=cak, upsample_size=size)
        if u.conv_norm_out is not None:
            hidden = u.conv_act(u.conv_norm_out(hidden))
        out = u.conv_out(hidden)
        return UNet2DConditionOutput(sample=out) if return_dict else (out,)


def teacher_stages(unet: nn.Module) -> list[nn.Module]:
    """The six teacher stages (E1 E2 E3 D3 D2 D1) with the student stage interface.

    For a NanoSDUNet (nanosd-l, the default FwGD teacher) these are ``unet.stages`` and hooks
    on them fire in ``unet(...)``; for a UNet2DConditionModel they share its weights, and hooks
    fire when the network is run through ``StagedTeacher(unet)``.
    """
    return list(unet.stages) if isinstance(unet, NanoSDUNet) else list(StagedTeacher(unet).stages)
