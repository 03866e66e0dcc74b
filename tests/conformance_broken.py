"""Deliberately broken diffusers citizens: each class breaks one behaviour the conformance kit
checks, the way a model class written from scratch easily does (a no-op method, a missing
decorator, state outside the config). Importable by name so diffusers' from_pretrained finds them."""
from __future__ import annotations

from diffusers import AutoencoderKL, StableDiffusionPipeline, UNet2DConditionModel
from diffusers.models.attention import AttentionMixin


def _map_out(out, fn):
    if isinstance(out, tuple):
        return (fn(out[0]), *out[1:])
    out.sample = fn(out.sample)
    return out


class UnsavedStateUNet(UNet2DConditionModel):
    """Its output depends on ``gain``, which is not in the config: save/load loses it."""

    gain = 1.0

    def forward(self, sample, *args, **kwargs):
        return _map_out(super().forward(sample, *args, **kwargs), lambda x: x * self.gain)


class BatchMixingUNet(UNet2DConditionModel):
    """Leaks information between the samples of a batch."""

    def forward(self, sample, *args, **kwargs):
        return _map_out(super().forward(sample, *args, **kwargs), lambda x: x + x.mean(0, keepdim=True))


class Float32UNet(UNet2DConditionModel):
    """Returns float32 whatever dtype the pipeline was moved to."""

    def forward(self, sample, *args, **kwargs):
        return _map_out(super().forward(sample, *args, **kwargs), lambda x: x.float())


class NoCallbackPipeline(StableDiffusionPipeline):
    """Takes callback_on_step_end and drops it."""

    def __call__(self, *args, callback_on_step_end=None, callback_on_step_end_tensor_inputs=None, **kwargs):
        return super().__call__(*args, **kwargs)


class EtaAlwaysPipeline(StableDiffusionPipeline):
    """Passes DDIM's eta to any scheduler: breaks as soon as a user swaps in Euler."""

    def prepare_extra_step_kwargs(self, generator, eta):
        return {"eta": eta}


class NoSlicingUNet(UNet2DConditionModel):
    def set_attention_slice(self, slice_size="auto"):
        pass


class NoSlicingVAE(AutoencoderKL):
    def enable_slicing(self):
        pass


class NoTilingVAE(AutoencoderKL):
    def enable_tiling(self):
        pass


class NoFreeUUNet(UNet2DConditionModel):
    def enable_freeu(self, s1, s2, b1, b2):
        pass


class UnfusedUNet(UNet2DConditionModel):
    """The generic mixin's fuse: leaves diffusers' Attention modules unfused (NanoSD's old bug)."""

    fuse_qkv_projections = AttentionMixin.fuse_qkv_projections


class NoResetUNet(UNet2DConditionModel):
    def set_default_attn_processor(self):
        pass


class NoLoraScaleUNet(UNet2DConditionModel):
    """forward without diffusers' apply_lora_scale decorator: cross_attention_kwargs['scale'] is ignored."""

    forward = UNet2DConditionModel.forward.__wrapped__


class NoIPAdapterUNet(UNet2DConditionModel):
    def _load_ip_adapter_weights(self, state_dicts, low_cpu_mem_usage=False):
        pass
