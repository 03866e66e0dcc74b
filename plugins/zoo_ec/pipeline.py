"""ECEditPipeline: guidance-free image editing, one denoiser call per step (arXiv 2503.17593).

    pipe(prompt, image=..., num_inference_steps=N, generator=...)   # as InstructPix2Pix

The context image enters only through the starting noise y ~ N(mu(c), Sigma(c)) (its VAE
posterior fused with the prompt VAE's Gaussian); the UNet sees a 4-channel latent and keeps the
text tokens in cross-attention. Flow matching: x_t = (1 - t) x + t y, the UNet predicts the
velocity y - x, and Euler steps (FlowMatchEulerDiscreteScheduler) run from t = 1 to 0.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Union

import torch
from diffusers import DiffusionPipeline, ImagePipelineOutput
from diffusers.image_processor import VaeImageProcessor
from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import StableDiffusionMixin
from diffusers.utils.torch_utils import randn_tensor

TIMESTEP_SCALE = 1000.0  # t in [0, 1] enters the UNet as t * 1000, as the scheduler's timesteps (sigma * 1000)


class ECEditPipeline(DiffusionPipeline, StableDiffusionMixin):
    model_cpu_offload_seq = "text_encoder->prompt_vae->unet->vae"
    _callback_tensor_inputs = ["latents", "prompt_embeds"]

    def __init__(self, vae: Any, text_encoder: Any, tokenizer: Any, unet: Any, prompt_vae: Any, scheduler: Any):
        super().__init__()
        self.register_modules(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                              prompt_vae=prompt_vae, scheduler=scheduler)
        self.vae_scale_factor = 2 ** (len(vae.config.block_out_channels) - 1) if vae is not None else 8
        self.image_processor = VaeImageProcessor(vae_scale_factor=self.vae_scale_factor)
        self._interrupt = False

    @property
    def interrupt(self) -> bool:
        return self._interrupt

    # -- conditioning ------------------------------------------------------------------------
    def encode_prompt(self, prompt: list[str], device: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """(token states [B, L, D] for cross-attention, pooled embedding [B, D] for the prompt VAE)."""
        ids = self.tokenizer(prompt, padding="max_length", max_length=self.tokenizer.model_max_length,
                             truncation=True, return_tensors="pt").input_ids.to(device)
        out = self.text_encoder(ids)
        return out.last_hidden_state.to(self.unet.dtype), out.pooler_output

    def context_posterior(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and variance of the VAE posterior of the context image, in the scaled latent space."""
        dist = self.vae.encode(image.to(self.vae.dtype)).latent_dist
        sf = self.vae.config.scaling_factor
        return dist.mean * sf, dist.var * sf**2

    def noise_distribution(self, pooled: torch.Tensor, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, std) of y ~ N(mu(c), Sigma(c)), the fused Gaussian of image and prompt."""
        mean_i, var_i = self.context_posterior(image)
        mean_p, logvar_p = self.prompt_vae(pooled)
        if mean_p.shape[-2:] != mean_i.shape[-2:]:  # the prompt VAE draws a square map; photos come in any aspect
            size = tuple(mean_i.shape[-2:])
            mean_p = torch.nn.functional.interpolate(mean_p, size=size, mode="bilinear", align_corners=False)
            logvar_p = torch.nn.functional.interpolate(logvar_p, size=size, mode="bilinear", align_corners=False)
        mean, std = self.prompt_vae.fuse(mean_i.float(), var_i.float(), mean_p.float(), logvar_p.float())
        return mean.to(self.unet.dtype), std.to(self.unet.dtype)

    @torch.no_grad()
    def __call__(
        self,
        prompt: Union[str, list[str]] = None,
        image: Any = None,
        num_inference_steps: int = 10,
        generator: Optional[Union[torch.Generator, list[torch.Generator]]] = None,
        latents: Optional[torch.Tensor] = None,
        output_type: str = "pil",
        return_dict: bool = True,
        cross_attention_kwargs: Optional[dict[str, Any]] = None,
        callback_on_step_end: Optional[Callable[..., dict]] = None,
        callback_on_step_end_tensor_inputs: list[str] = ["latents"],  # noqa: B006 (diffusers' signature)
    ):
        from zoo import ZooError

        if prompt is None or image is None:
            raise ZooError("EC editing needs both a prompt and an image: pipe(prompt, image=PIL image)")
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        if int(num_inference_steps) < 1:
            raise ZooError(f"num_inference_steps must be >= 1, got {num_inference_steps}")
        bad = set(callback_on_step_end_tensor_inputs) - set(self._callback_tensor_inputs)
        if bad:
            raise ZooError(f"callback_on_step_end_tensor_inputs {sorted(bad)} are not among {self._callback_tensor_inputs}")
        device = self._execution_device
        self._interrupt = False
        img = self.image_processor.preprocess(image).to(device)
        if img.shape[0] != len(prompts):
            if img.shape[0] == 1:
                img = img.repeat(len(prompts), 1, 1, 1)
            else:
                raise ZooError(f"{len(prompts)} prompts but {img.shape[0]} images: give one image or one per prompt")

        prompt_embeds, pooled = self.encode_prompt(prompts, device)
        mean, std = self.noise_distribution(pooled, img)
        if latents is None:
            latents = mean + std * randn_tensor(mean.shape, generator=generator, device=device, dtype=mean.dtype)
        self.scheduler.set_timesteps(int(num_inference_steps), device=device)
        timesteps = self.scheduler.timesteps
        with self.progress_bar(total=len(timesteps)) as bar:
            for i, t in enumerate(timesteps):
                if self.interrupt:
                    continue
                # one denoiser call per step: no guidance branches
                velocity = self.unet(latents, t.to(latents.dtype).expand(latents.shape[0]), encoder_hidden_states=prompt_embeds,
                                     cross_attention_kwargs=cross_attention_kwargs, return_dict=False)[0]
                latents = self.scheduler.step(velocity, t, latents, return_dict=False)[0]
                if callback_on_step_end is not None:
                    local = {"latents": latents, "prompt_embeds": prompt_embeds}
                    out = callback_on_step_end(self, i, t, {k: local[k] for k in callback_on_step_end_tensor_inputs}) or {}
                    latents = out.get("latents", latents)
                    prompt_embeds = out.get("prompt_embeds", prompt_embeds)
                bar.update()

        if output_type == "latent":
            images = latents
        else:
            decoded = self.vae.decode(latents.to(self.vae.dtype) / self.vae.config.scaling_factor, return_dict=False)[0]
            images = self.image_processor.postprocess(decoded, output_type=output_type)
        self.maybe_free_model_hooks()
        if not return_dict:
            return (images,)
        return ImagePipelineOutput(images=images)

