"""MiniEditPipeline: InstructPix2Pix with an optional image-space residual output.

The stock pipeline returns ``D(z_edit)``: every pixel passes through the VAE, so whatever the small
miniature VAE cannot reconstruct (about 25 dB on held-out crops) is lost even where the instruction
changes nothing. With ``residual_output`` (config, the zoo's choice for mini-edit) the output is
``x + D(z_edit) - D(z_x)``, ``z_x`` the input's own latent (the one the UNet is conditioned on): the
edit is what the decoder says changed, and the detail the VAE drops comes back from the input (as
TOC-SR's ``skip`` output does for super-resolution). One extra decode per image.

Everything else (denoising loop, guidance, arguments) is the stock pipeline's; with
``residual_output=False`` it is the stock pipeline.
"""
from __future__ import annotations

import inspect
from typing import Any

import torch
from diffusers import StableDiffusionInstructPix2PixPipeline
from diffusers.pipelines.stable_diffusion import StableDiffusionPipelineOutput


class MiniEditPipeline(StableDiffusionInstructPix2PixPipeline):
    def __init__(self, vae, text_encoder, tokenizer, unet, scheduler, safety_checker=None, feature_extractor=None,
                 image_encoder=None, requires_safety_checker: bool = False, residual_output: bool = True):
        super().__init__(vae, text_encoder, tokenizer, unet, scheduler, safety_checker, feature_extractor,
                         image_encoder, requires_safety_checker)
        self.register_to_config(residual_output=residual_output)

    def prepare_image_latents(self, image, *args, **kwargs):
        latents = super().prepare_image_latents(image, *args, **kwargs)
        # The input pixels and their latent, as the stock method batched them (guidance appends zeros).
        self._residual_input = (image, latents) if image.shape[1] == 3 else None
        return latents

    @torch.no_grad()
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self.config.residual_output or kwargs.get("output_type", "pil") == "latent":
            return super().__call__(*args, **kwargs)
        output_type, return_dict = kwargs.pop("output_type", "pil"), kwargs.pop("return_dict", True)
        self._residual_input = None
        try:
            latents = super().__call__(*args, output_type="latent", return_dict=False, **kwargs)[0]
            pixels, z_x = self._residual_input or (None, None)
        finally:
            self._residual_input = None
        sf = self.vae.config.scaling_factor
        image = self.vae.decode(latents / sf, return_dict=False)[0]
        if pixels is not None:  # an input given as a 4-channel latent has no pixels to keep: plain decode
            z_x = z_x[: len(latents)]
            pixels = pixels.to(image)
            pixels = torch.cat([pixels] * (len(latents) // len(pixels)))  # the stock method's batch expansion
            image = (pixels + image - self.vae.decode(z_x.to(latents), return_dict=False)[0]).clamp(-1, 1)
        image = self.image_processor.postprocess(image, output_type=output_type, do_denormalize=[True] * len(image))
        self.maybe_free_model_hooks()
        if not return_dict:
            return (image, None)
        return StableDiffusionPipelineOutput(images=image, nsfw_content_detected=None)


# The stock signature, so callers and the demos see every argument.
MiniEditPipeline.__call__.__signature__ = inspect.signature(StableDiffusionInstructPix2PixPipeline.__call__)
