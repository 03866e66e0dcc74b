"""The field's baseline through the same harness: diffusers' own PyramidAttentionBroadcast (PAB,
arXiv 2408.12588) applied to a pipeline's UNet / transformer.

PAB reuses a layer's whole attention *output* every ``skip`` calls inside a timestep window;
attention reuse keeps the map and recomputes ``A V``. diffusers needs the current timestep and a
state reset per run; here a forward pre-hook on the denoiser supplies both, as the attention
reuse controller does (a new run = the scheduler holds new timesteps).
"""
from __future__ import annotations

from typing import Any, Optional

from .controller import denoiser_of


class PabHandle:
    def __init__(self, pipe: Any, spatial_skip: Optional[int] = 2, cross_skip: Optional[int] = None,
                 timestep_range: tuple[int, int] = (100, 800)):
        from diffusers.hooks import PyramidAttentionBroadcastConfig, apply_pyramid_attention_broadcast

        self.pipe, self.den = pipe, denoiser_of(pipe)
        self.timestep: Optional[int] = None
        self._run_key = None
        self.config = PyramidAttentionBroadcastConfig(
            spatial_attention_block_skip_range=spatial_skip, cross_attention_block_skip_range=cross_skip,
            spatial_attention_timestep_skip_range=timestep_range, cross_attention_timestep_skip_range=timestep_range,
            current_timestep_callback=lambda: self.timestep,
        )
        self._hook = self.den.register_forward_pre_hook(self._before_call, with_kwargs=True)
        apply_pyramid_attention_broadcast(self.den, self.config)

    def _before_call(self, module: Any, args: tuple, kwargs: dict) -> None:
        import torch

        t = kwargs.get("timestep", args[1] if len(args) > 1 else None)
        self.timestep = int(t.flatten()[0]) if isinstance(t, torch.Tensor) else int(t)
        ts = getattr(self.pipe.scheduler, "timesteps", None)
        if ts is not self._run_key:  # a new run: PAB's per-layer counters and caches start over
            self._run_key = ts
            from diffusers.hooks import HookRegistry

            HookRegistry.check_if_exists_or_initialize(self.den).reset_stateful_hooks(recurse=True)

    def remove(self) -> None:
        from diffusers.hooks import HookRegistry
        from diffusers.hooks.pyramid_attention_broadcast import _PYRAMID_ATTENTION_BROADCAST_HOOK

        registry = HookRegistry.check_if_exists_or_initialize(self.den)
        registry.remove_hook(_PYRAMID_ATTENTION_BROADCAST_HOOK, recurse=True)
        if hasattr(registry, "invalidate_child_registries_cache"):
            registry.invalidate_child_registries_cache()
        self._hook.remove()


def apply_pab(pipe: Any, spatial_skip: Optional[int] = 2, cross_skip: Optional[int] = None,
              timestep_range: tuple[int, int] = (100, 800)) -> PabHandle:
    """Apply diffusers' PyramidAttentionBroadcast (its defaults: spatial skip 2 within timesteps 100-800)."""
    return PabHandle(pipe, spatial_skip, cross_skip, timestep_range)
