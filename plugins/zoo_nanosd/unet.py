"""NanoSDUNet: the SD1.5 UNet after NanoSD's surgery, with one block option per stage.

Surgery [paper]: E4 (the deepest encoder stage), the mid block and D4 are removed; six stages
remain, E1-E3 and D3-D1 at 320/640/1280 channels and the same spatial sizes as in SD1.5 (E3
loses its downsampler, whose only consumer was E4; D3 keeps its upsampler). Every stage
takes an option from ``zoo_nanosd.choices`` (encoder {RARA, RA, RR, R}, decoder {RARARA,
RARA, RAR, RRA, RA, RR, R, RRR}); "all original" is the 3-stage UNet, 523.2M params at
SD1.5 widths (the same network as diffusers' UNet2DConditionModel with three cross-attention
blocks and ``mid_block_type=None``).

Parameter names follow UNet2DConditionModel (``down_blocks.1.resnets.0...``,
``up_blocks.0.attentions.2...``), so teacher weights map by name; a transformer that follows
ResNet j keeps the key ``attentions.j`` even when earlier transformers are dropped.

Stage interface (``unet.stages``: E1, E2, E3, D3, D2, D1), the same for every option, for
students (``NanoSDUNet``, ``build_stage``) and teachers (``teacher_stages``):

* encoder stage: ``stage(hidden, temb, encoder_hidden_states) -> (hidden, skips)``; ``skips``
  always holds the original number of tensors (one per layer slot, so 2, plus one after a
  downsampler): a dropped ResNet slot re-emits the last output [choice from nanosd.md].
* decoder stage: ``stage(hidden, skips, temb, encoder_hidden_states) -> hidden``; ``skips``
  is the stage's 3 tensors in encoder order; ResNet k concatenates ``skips[-1 - k]`` (as
  diffusers pops them), so a stage with fewer ResNets uses only its first k skips in pop order.

Both also take ``cross_attention_kwargs=None`` (and decoders ``upsample_size=None``) as
keywords. The UNet calls stages positionally, so forward hooks see ``args`` in that order.

diffusers citizenship: NanoSDUNet is what UNet2DConditionModel is to a diffusers user, with the
same code (its methods are UNet2DConditionModel's own): attention slicing, attention-processor
set/reset, fused QKV fuse/unfuse, FreeU, LoRA through diffusers' loaders (PEFT;
``pipe.load_lora_weights``, LoRA scale in ``cross_attention_kwargs``) and UNet IP-Adapters.
FreeU [choice]: as UNet2DConditionModel, by decoder index: D3 (``up_blocks.0``, NanoSD's first
decoder stage) takes ``b1``/``s1``, D2 takes ``b2``/``s2``, D1 none; the same network as a
3-level UNet2DConditionModel behaves the same under FreeU.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.loaders import PeftAdapterMixin, UNet2DConditionLoadersMixin
from diffusers.models.attention import AttentionMixin
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from diffusers.models.modeling_utils import ModelMixin
from diffusers.models.resnet import Downsample2D, ResnetBlock2D, Upsample2D
from diffusers.models.transformers.transformer_2d import Transformer2DModel
from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel, UNet2DConditionOutput
from diffusers.utils.peft_utils import apply_lora_scale
from diffusers.utils.torch_utils import apply_freeu
from torch import nn

from zoo import ZooError

from .choices import DECODER_LAYERS, ENCODER_LAYERS, ORIGINAL, options_for, parse_option, validate_choices


# ----------------------------------------------------------------------------- stages
class _Stage(nn.Module):
    """Common parts: the ResNet list, transformers keyed by the ResNet they follow, checkpointing."""

    def __init__(self, choice: str, resnets: Sequence[nn.Module], attentions: dict[int, nn.Module], n_layers: int) -> None:
        super().__init__()
        self.choice = choice
        self.n_layers = n_layers  # layer slots of the original stage (2 encoder, 3 decoder)
        self.resnets = nn.ModuleList(resnets)
        self.attentions = nn.ModuleDict({str(j): a for j, a in attentions.items()})
        self.gradient_checkpointing = False

    def _layer(self, j: int, hidden: torch.Tensor, temb, encoder_hidden_states, cross_attention_kwargs) -> torch.Tensor:
        resnet = self.resnets[j]
        if torch.is_grad_enabled() and self.gradient_checkpointing:
            hidden = self._gradient_checkpointing_func(resnet, hidden, temb)
        else:
            hidden = resnet(hidden, temb)
        attn = self.attentions[str(j)] if str(j) in self.attentions else None
        if attn is not None:
            hidden = attn(hidden, encoder_hidden_states=encoder_hidden_states,
                          cross_attention_kwargs=cross_attention_kwargs, return_dict=False)[0]
        return hidden


class EncoderStage(_Stage):
    """``(hidden, temb, encoder_hidden_states) -> (hidden, skips)``; see the module docstring."""

    def __init__(self, choice: str, resnets, attentions, downsampler: Optional[nn.Module], n_layers: int = ENCODER_LAYERS) -> None:
        super().__init__(choice, resnets, attentions, n_layers)
        self.downsamplers = nn.ModuleList([downsampler]) if downsampler is not None else None

    @property
    def num_skips(self) -> int:
        return self.n_layers + (1 if self.downsamplers is not None else 0)

    def forward(self, hidden, temb, encoder_hidden_states, cross_attention_kwargs=None):
        skips: tuple[torch.Tensor, ...] = ()
        for j in range(self.n_layers):
            if j < len(self.resnets):
                hidden = self._layer(j, hidden, temb, encoder_hidden_states, cross_attention_kwargs)
            skips += (hidden,)  # a dropped ResNet slot re-emits the last output
        if self.downsamplers is not None:
            hidden = self.downsamplers[0](hidden)
            skips += (hidden,)
        return hidden, skips


class DecoderStage(_Stage):
    """``(hidden, skips, temb, encoder_hidden_states) -> hidden``; see the module docstring."""

    def __init__(self, choice: str, resnets, attentions, upsampler: Optional[nn.Module], n_layers: int = DECODER_LAYERS) -> None:
        super().__init__(choice, resnets, attentions, n_layers)
        self.upsamplers = nn.ModuleList([upsampler]) if upsampler is not None else None
        self.resolution_idx: Optional[int] = None  # index among the UNet's up_blocks (FreeU reads it)

    def _freeu(self) -> Optional[dict]:
        kw = {k: getattr(self, k, None) for k in ("s1", "s2", "b1", "b2")}
        return kw if all(kw.values()) else None

    @property
    def num_skips(self) -> int:
        return self.n_layers

    def forward(self, hidden, skips, temb, encoder_hidden_states, cross_attention_kwargs=None, upsample_size=None):
        if len(skips) != self.n_layers:
            raise ZooError(f"decoder stage takes {self.n_layers} skip tensors, got {len(skips)}")
        freeu = self._freeu()
        for j in range(len(self.resnets)):
            skip = skips[-1 - j]
            if freeu is not None:  # as diffusers' up blocks do, before each concatenation
                hidden, skip = apply_freeu(self.resolution_idx, hidden, skip, **freeu)
            hidden = torch.cat([hidden, skip], dim=1)
            hidden = self._layer(j, hidden, temb, encoder_hidden_states, cross_attention_kwargs)
        if self.upsamplers is not None:
            hidden = self.upsamplers[0](hidden, upsample_size)
        return hidden


# ----------------------------------------------------------------------------- building
def _cfg(config: Any, key: str) -> Any:
    return config[key] if isinstance(config, dict) else getattr(config, key)


def _heads(config: Any, level: int) -> int:
    # As in SD1.5's diffusers config, `attention_head_dim` is really the number of heads.
    h = _cfg(config, "attention_head_dim")
    return h[level] if isinstance(h, (list, tuple)) else h


def stage_geometry(config: Any, stage_index: int) -> dict[str, Any]:
    """Channels and resampling of stage ``stage_index`` (0..n-1 encoders E1.., n..2n-1 decoders Dn..D1)."""
    boc = list(_cfg(config, "block_out_channels"))
    n = len(boc)
    if not 0 <= stage_index < 2 * n:
        raise ZooError(f"stage index {stage_index} out of range for {n} levels")
    if stage_index < n:
        lvl = stage_index
        return {"encoder": True, "level": lvl, "in": boc[lvl - 1] if lvl else boc[0], "out": boc[lvl],
                "resample": lvl < n - 1}
    lvl = 2 * n - 1 - stage_index
    return {"encoder": False, "level": lvl, "out": boc[lvl], "prev": boc[min(lvl + 1, n - 1)],
            "skip_last": boc[lvl - 1] if lvl else boc[0], "resample": lvl > 0}


def build_stage(config: Any, stage_index: int, choice: str) -> nn.Module:
    """One stage with option ``choice``, alone (random init): a FwGD candidate block.

    ``config`` is a NanoSDUNet config (dict or ``unet.config``).
    """
    n = len(_cfg(config, "block_out_channels"))
    g = stage_geometry(config, stage_index)
    n_layers = ENCODER_LAYERS if g["encoder"] else DECODER_LAYERS
    if choice not in options_for(stage_index, n):
        raise ZooError(f"stage {stage_index} has no option {choice!r}; choose one of {list(options_for(stage_index, n))}")
    n_res, attn_after = parse_option(choice)
    groups, eps = _cfg(config, "norm_num_groups"), _cfg(config, "norm_eps")
    temb = _cfg(config, "block_out_channels")[0] * 4
    heads = _heads(config, g["level"])
    out = g["out"]

    def resnet(cin: int) -> nn.Module:
        return ResnetBlock2D(in_channels=cin, out_channels=out, temb_channels=temb, eps=eps, groups=groups,
                             dropout=0.0, time_embedding_norm="default", non_linearity=_cfg(config, "act_fn"),
                             output_scale_factor=1.0, pre_norm=True)

    def transformer() -> nn.Module:
        return Transformer2DModel(heads, out // heads, in_channels=out, num_layers=1,
                                  cross_attention_dim=_cfg(config, "cross_attention_dim"), norm_num_groups=groups,
                                  use_linear_projection=_cfg(config, "use_linear_projection"),
                                  upcast_attention=_cfg(config, "upcast_attention"))

    attentions = {j: transformer() for j in attn_after}
    if g["encoder"]:
        resnets = [resnet(g["in"] if j == 0 else out) for j in range(n_res)]
        down = (Downsample2D(out, use_conv=True, out_channels=out, padding=_cfg(config, "downsample_padding"), name="op")
                if g["resample"] else None)
        return EncoderStage(choice, resnets, attentions, down, n_layers)
    resnets = [resnet((g["prev"] if j == 0 else out) + (g["skip_last"] if j == n_layers - 1 else out)) for j in range(n_res)]
    up = Upsample2D(out, use_conv=True, out_channels=out) if g["resample"] else None
    return DecoderStage(choice, resnets, attentions, up, n_layers)


# ----------------------------------------------------------------------------- the UNet
class NanoSDUNet(ModelMixin, AttentionMixin, ConfigMixin, UNet2DConditionLoadersMixin, PeftAdapterMixin):
    """SD1.5's UNet after surgery, one block option per stage (``stage_choices``, E1 E2 E3 D3 D2 D1).

    Call it like UNet2DConditionModel: ``unet(sample, timestep, encoder_hidden_states)`` ->
    ``UNet2DConditionOutput``. ``block_out_channels`` has one entry per kept level (3 for
    NanoSD); the other fields mean what they mean in UNet2DConditionModel (``layers_per_block``
    is fixed: the layer slots of every stage option, which diffusers' block-wise LoRA and
    IP-Adapter scales read).
    """

    _supports_gradient_checkpointing = True

    @register_to_config
    def __init__(
        self,
        stage_choices: Sequence[str] = tuple(ORIGINAL),
        sample_size: int = 64,
        in_channels: int = 4,
        out_channels: int = 4,
        block_out_channels: Sequence[int] = (320, 640, 1280),
        cross_attention_dim: int = 768,
        attention_head_dim: int | Sequence[int] = 8,
        norm_num_groups: int = 32,
        norm_eps: float = 1e-5,
        act_fn: str = "silu",
        flip_sin_to_cos: bool = True,
        freq_shift: int = 0,
        downsample_padding: int = 1,
        use_linear_projection: bool = False,
        upcast_attention: bool = False,
        time_cond_proj_dim: Optional[int] = None,
        layers_per_block: int = ENCODER_LAYERS,
    ) -> None:
        super().__init__()
        if layers_per_block != ENCODER_LAYERS:  # read by diffusers' block-wise LoRA / IP-Adapter scales
            raise ZooError(f"NanoSDUNet stages have SD1.5's {ENCODER_LAYERS} layer slots per encoder stage "
                           f"(layers_per_block={ENCODER_LAYERS}), got {layers_per_block}")
        n = len(block_out_channels)
        choices = validate_choices(stage_choices, n)
        c0 = block_out_channels[0]
        self.conv_in = nn.Conv2d(in_channels, c0, kernel_size=3, padding=1)
        self.time_proj = Timesteps(c0, flip_sin_to_cos, freq_shift)
        self.time_embedding = TimestepEmbedding(c0, c0 * 4, act_fn=act_fn, cond_proj_dim=time_cond_proj_dim)
        self.down_blocks = nn.ModuleList([build_stage(self.config, i, choices[i]) for i in range(n)])
        self.up_blocks = nn.ModuleList([build_stage(self.config, n + i, choices[n + i]) for i in range(n)])
        self.conv_norm_out = nn.GroupNorm(num_channels=c0, num_groups=norm_num_groups, eps=norm_eps)
        self.conv_act = nn.SiLU()
        self.conv_out = nn.Conv2d(c0, out_channels, kernel_size=3, padding=1)
        self.encoder_hid_proj: Optional[nn.Module] = None  # an IP-Adapter's image projection, once loaded
        self.original_attn_processors = None
        self._index_up_blocks()

    # What UNet2DConditionModel offers, with its own code: it walks children / up_blocks /
    # attention modules, all of which NanoSD has under the same names.
    set_default_attn_processor = UNet2DConditionModel.set_default_attn_processor
    set_attention_slice = UNet2DConditionModel.set_attention_slice
    enable_freeu = UNet2DConditionModel.enable_freeu
    disable_freeu = UNet2DConditionModel.disable_freeu
    fuse_qkv_projections = UNet2DConditionModel.fuse_qkv_projections
    unfuse_qkv_projections = UNet2DConditionModel.unfuse_qkv_projections
    process_encoder_hidden_states = UNet2DConditionModel.process_encoder_hidden_states

    def _index_up_blocks(self) -> None:
        for i, block in enumerate(self.up_blocks):
            block.resolution_idx = i

    @property
    def stages(self) -> list[nn.Module]:
        """E1, E2, E3, D3, D2, D1: the modules the distillation engine trains, swaps and hooks."""
        return [*self.down_blocks, *self.up_blocks]

    @property
    def num_upsamplers(self) -> int:
        return sum(1 for b in self.up_blocks if b.upsamplers is not None)

    def set_stage(self, stage_index: int, module: nn.Module) -> None:
        """Swap in a stage (e.g. a trained FwGD block); its choice becomes part of the config."""
        n = len(self.down_blocks)
        blocks, i = (self.down_blocks, stage_index) if stage_index < n else (self.up_blocks, stage_index - n)
        blocks[i] = module
        self._index_up_blocks()
        choices = list(self.config.stage_choices)
        choices[stage_index] = module.choice
        self.register_to_config(stage_choices=validate_choices(choices, n))

    def time_embed(self, sample: torch.Tensor, timestep, timestep_cond: Optional[torch.Tensor] = None) -> torch.Tensor:
        t = timestep
        if not torch.is_tensor(t):
            is_mps = sample.device.type == "mps"
            dtype = (torch.float32 if is_mps else torch.float64) if isinstance(t, float) else (torch.int32 if is_mps else torch.int64)
            t = torch.tensor([t], dtype=dtype, device=sample.device)
        elif t.ndim == 0:
            t = t[None].to(sample.device)
        t = t.expand(sample.shape[0])  # broadcast the way ONNX / Core ML export accepts
        t_emb = self.time_proj(t).to(dtype=sample.dtype)  # Timesteps returns float32
        return self.time_embedding(t_emb, timestep_cond)

    @apply_lora_scale("cross_attention_kwargs")
    def forward(
        self,
        sample: torch.Tensor,
        timestep,
        encoder_hidden_states: torch.Tensor,
        timestep_cond: Optional[torch.Tensor] = None,
        cross_attention_kwargs: Optional[dict[str, Any]] = None,
        added_cond_kwargs: Optional[dict[str, Any]] = None,
        return_dict: bool = True,
        **unsupported: Any,
    ):
        extra = {k: v for k, v in unsupported.items() if v is not None}
        image = self.encoder_hid_proj is not None and set(added_cond_kwargs or {}) == {"image_embeds"}
        if extra or (added_cond_kwargs and not image):
            raise ZooError(f"NanoSDUNet does not take {sorted([*extra, *(added_cond_kwargs or {})])} (no class, "
                           "addition or ControlNet conditioning in the NanoSD architecture; image_embeds need a "
                           "loaded IP-Adapter)")
        if self.encoder_hid_proj is not None:  # IP-Adapter: (text, image tokens) for its attention processors
            encoder_hidden_states = self.process_encoder_hidden_states(encoder_hidden_states, added_cond_kwargs or {})
        up_factor = 2 ** self.num_upsamplers
        forward_upsample_size = any(d % up_factor for d in sample.shape[-2:])

        emb = self.time_embed(sample, timestep, timestep_cond)
        hidden = self.conv_in(sample)
        skips: tuple[torch.Tensor, ...] = (hidden,)
        for stage in self.down_blocks:
            hidden, s = stage(hidden, emb, encoder_hidden_states, cross_attention_kwargs=cross_attention_kwargs)
            skips += s
        for i, stage in enumerate(self.up_blocks):
            k = stage.num_skips
            res, skips = skips[-k:], skips[:-k]
            size = skips[-1].shape[2:] if forward_upsample_size and i < len(self.up_blocks) - 1 else None
            hidden = stage(hidden, res, emb, encoder_hidden_states, cross_attention_kwargs=cross_attention_kwargs,
                           upsample_size=size)
        out = self.conv_out(self.conv_act(self.conv_norm_out(hidden)))
        return UNet2DConditionOutput(sample=out) if return_dict else (out,)

    # ------------------------------------------------------------------ from the teacher
    @classmethod
    def config_from_teacher(cls, teacher: nn.Module, stage_choices: Optional[Sequence[str]] = None) -> dict[str, Any]:
        """NanoSD config for ``teacher`` (SD1.5-layout UNet2DConditionModel, its 3-stage form, or a NanoSDUNet)."""
        if isinstance(teacher, NanoSDUNet):
            cfg = {k: v for k, v in dict(teacher.config).items() if not k.startswith("_")}
            if stage_choices is not None:
                cfg["stage_choices"] = list(stage_choices)
            return cfg
        _check_sd_layout(teacher)
        return unet_config_from_teacher_config(dict(teacher.config), stage_choices)

    @classmethod
    def from_teacher(cls, teacher: nn.Module, stage_choices: Optional[Sequence[str]] = None) -> "NanoSDUNet":
        """A student initialised from the teacher's weights, removed sub-modules dropped.

        ``teacher``: SD1.5's UNet2DConditionModel (E4, mid block, D4 and E3's downsampler are
        dropped; teacher ``up_blocks.1..3`` become ``up_blocks.0..2``), a 3-stage
        UNet2DConditionModel, or a NanoSDUNet. Kept blocks map by name: the option's k-th ResNet
        is the teacher's k-th, a transformer after ResNet j is the teacher's transformer j.
        ``stage_choices=None`` keeps every block (nanosd-l).
        """
        with torch.device("meta"):  # no random init of a network about to be overwritten
            student = cls(**cls.config_from_teacher(teacher, stage_choices or list(ORIGINAL)))
        # copies (not views) of the teacher's tensors, on its device and in its dtype
        state = {k: v.detach().clone() for k, v in teacher_state_for(student, teacher).items()}
        student.load_state_dict(state, strict=True, assign=True)
        return student


def kept_levels(teacher_config: Any) -> int:
    """Levels a teacher keeps after surgery: SD1.5 (4 levels, mid block) keeps 3; an already
    cut 3-level UNet without a mid block keeps all."""
    n = len(_cfg(teacher_config, "block_out_channels"))
    return n if _cfg(teacher_config, "mid_block_type") is None and n == 3 else n - 1


def _kept_levels(teacher: nn.Module) -> int:
    return kept_levels(teacher.config)


def unet_config_from_teacher_config(tc: dict[str, Any], stage_choices: Optional[Sequence[str]] = None) -> dict[str, Any]:
    """NanoSDUNet kwargs from a UNet2DConditionModel config dict (SD1.5 layout): the first
    kept levels' widths and the teacher's other settings; diffusers defaults where unset."""
    defaults = {"mid_block_type": "UNetMidBlock2DCrossAttn", "num_attention_heads": None, "norm_eps": 1e-5,
                "act_fn": "silu", "flip_sin_to_cos": True, "freq_shift": 0, "downsample_padding": 1,
                "use_linear_projection": False, "upcast_attention": False, "time_cond_proj_dim": None,
                "in_channels": 4, "out_channels": 4, "norm_num_groups": 32, "attention_head_dim": 8}
    tc = {**defaults, **tc}
    kept = kept_levels(tc)
    heads = tc["attention_head_dim"] if tc["num_attention_heads"] is None else tc["num_attention_heads"]
    cfg = {
        "sample_size": tc["sample_size"], "in_channels": tc["in_channels"], "out_channels": tc["out_channels"],
        "block_out_channels": list(tc["block_out_channels"][:kept]), "cross_attention_dim": tc["cross_attention_dim"],
        "attention_head_dim": list(heads[:kept]) if isinstance(heads, (list, tuple)) else heads,
        "norm_num_groups": tc["norm_num_groups"], "norm_eps": tc["norm_eps"], "act_fn": tc["act_fn"],
        "flip_sin_to_cos": tc["flip_sin_to_cos"], "freq_shift": tc["freq_shift"],
        "downsample_padding": tc["downsample_padding"], "use_linear_projection": tc["use_linear_projection"],
        "upcast_attention": tc["upcast_attention"], "time_cond_proj_dim": tc["time_cond_proj_dim"],
    }
    if stage_choices is not None:
        cfg["stage_choices"] = list(stage_choices)
    return cfg


def _check_sd_layout(teacher: nn.Module) -> None:
    tc = teacher.config
    kept = _kept_levels(teacher)
    down = list(tc.down_block_types[:kept])
    up = list(tc.up_block_types[-kept:])
    problems = []
    if down != ["CrossAttnDownBlock2D"] * kept or up != ["CrossAttnUpBlock2D"] * kept:
        problems.append(f"block types {down} / {up}")
    lpb = tc.layers_per_block
    if set([lpb] if isinstance(lpb, int) else lpb) != {2}:  # the option sets assume SD1.5's 2 layers
        problems.append(f"layers_per_block {lpb}")
    for key in ("class_embed_type", "addition_embed_type", "encoder_hid_dim", "num_class_embeds"):
        if getattr(tc, key, None) is not None:
            problems.append(f"{key}={getattr(tc, key)}")
    if tc.resnet_time_scale_shift != "default" or tc.time_embedding_type != "positional":
        problems.append("non-default time embedding")
    if problems:
        raise ZooError("NanoSD surgery needs an SD1.5-layout UNet2DConditionModel; this one has " + ", ".join(problems))


def teacher_state_for(student: NanoSDUNet, teacher: nn.Module) -> dict[str, torch.Tensor]:
    """The teacher's tensors under the student's parameter names (dropped modules left out)."""
    src = teacher.state_dict()
    offset = len(teacher.up_blocks) - len(student.up_blocks)  # SD1.5: D4 is teacher up_blocks.0

    def teacher_key(key: str) -> str:
        if key.startswith("up_blocks."):
            _, i, rest = key.split(".", 2)
            return f"up_blocks.{int(i) + offset}.{rest}"
        return key

    out = {}
    for key, value in student.state_dict().items():
        tk = teacher_key(key)
        if tk not in src:
            raise ZooError(f"teacher has no tensor {tk!r} for student {key!r}: is it an SD1.5-layout UNet?")
        if src[tk].shape != value.shape:
            raise ZooError(f"shape mismatch for {key}: student {tuple(value.shape)}, teacher {tk} {tuple(src[tk].shape)}")
        out[key] = src[tk]
    return out


def surgery(teacher: nn.Module) -> NanoSDUNet:
    """nanosd-l: SD1.5 with E4, mid block and D4 removed, every kept block original."""
    return NanoSDUNet.from_teacher(teacher, list(ORIGINAL))
