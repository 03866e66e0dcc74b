"""MiniSRPipeline: x4 super-resolution by conditional diffusion on the residual over bicubic.

``pipe(image=PIL)`` upsamples the image x4 with PIL bicubic, then denoises a residual with a
UNet2DModel whose input is the noisy residual concatenated with the bicubic upsample, and adds
it back. Images larger than one tile are processed in overlapping HR tiles (zoo.tiling), so any
size runs at the memory of one tile.
"""
from __future__ import annotations

import inspect
from typing import Any, Optional, Union

import torch
from diffusers import DiffusionPipeline, ImagePipelineOutput

from zoo import ZooError


class MiniSRPipeline(DiffusionPipeline):
    model_cpu_offload_seq = "unet"

    def __init__(self, unet: Any, scheduler: Any, scale: int = 4, residual_scale: float = 4.0):
        super().__init__()
        self.register_modules(unet=unet, scheduler=scheduler)
        self.register_to_config(scale=scale, residual_scale=residual_scale)

    def bicubic(self, images: list) -> torch.Tensor:
        """The condition: PIL bicubic x``scale`` upsample, as float NCHW in [-1, 1]."""
        from zoo.proving.photos import check_rgb, to_tensor, upscale_batch

        import numpy as np

        arrs = [check_rgb(im, "the low-resolution image") for im in images]
        if len({a.shape for a in arrs}) != 1:
            raise ZooError("all images of one call must have the same size")
        return to_tensor(upscale_batch(np.stack(arrs), self.config.scale))

    def denoise(self, cond: torch.Tensor, num_inference_steps: int, generator: Optional[torch.Generator] = None,
                eta: float = 0.0) -> torch.Tensor:
        """The SR output (float NCHW in [-1, 1]) for a bicubic condition tensor of any size divisible by 4."""
        dtype, device = self.unet.dtype, self.unet.device
        cond = cond.to(device=device, dtype=dtype)
        self.scheduler.set_timesteps(num_inference_steps, device=device)
        if isinstance(generator, (list, tuple)):  # one generator per image, as diffusers pipelines take them
            if len(generator) != len(cond):
                raise ZooError(f"got {len(generator)} generators for {len(cond)} images")
            x = torch.stack([torch.randn(cond.shape[1:], generator=g) for g in generator])
        else:
            x = torch.randn(cond.shape, generator=generator)
        x = x.to(device=device, dtype=dtype) * self.scheduler.init_noise_sigma
        # eta and generator only for schedulers whose step takes them (DDIM does; Euler does not)
        params = set(inspect.signature(self.scheduler.step).parameters)
        extra = {k: v for k, v in (("eta", eta), ("generator", generator)) if k in params and not isinstance(v, (list, tuple))}
        for t in self.progress_bar(self.scheduler.timesteps):
            inp = torch.cat([self.scheduler.scale_model_input(x, t), cond], dim=1)
            pred = self.unet(inp, t).sample
            x = self.scheduler.step(pred, t, x, **extra).prev_sample
        return (cond + x / self.config.residual_scale).clamp(-1, 1)

    @torch.no_grad()
    def __call__(self, image: Any = None, prompt: Optional[Union[str, list]] = None, num_inference_steps: int = 1,
                 generator: Optional[torch.Generator] = None, eta: float = 0.0, tile: Optional[int] = 256,
                 overlap: int = 32, output_type: str = "pil", return_dict: bool = True) -> Any:
        """Upscale ``image`` (a PIL RGB image or a list of same-size ones) x4.

        ``prompt`` is accepted for the upscale-pipeline calling convention and ignored (the model is
        not text-conditioned). One DDIM step (the model's estimate from pure noise at t=999) scores
        best in PSNR; 2-4 steps (the timesteps it was trained on) add detail at a PSNR cost. ``tile``/``overlap``: HR tile side and shared band (``None``: whole image).
        """
        from zoo.tiling import tiled

        if image is None:
            raise ZooError("MiniSRPipeline needs image=PIL.Image (RGB)")
        if not isinstance(num_inference_steps, int) or num_inference_steps < 1:
            raise ZooError(f"num_inference_steps must be a positive integer, got {num_inference_steps!r}")
        if output_type not in ("pil", "np", "pt"):
            raise ZooError(f"output_type must be 'pil', 'np' or 'pt', got {output_type!r}")
        images = list(image) if isinstance(image, (list, tuple)) else [image]
        cond = self.bicubic(images)
        fn = lambda c: self.denoise(c, num_inference_steps, generator, eta).float().cpu()  # noqa: E731
        if tile is None:
            out = fn(cond)
        else:
            t = max(16, int(tile) // 4 * 4)
            out = tiled(fn, cond, tile=t, overlap=min(int(overlap), t // 2), scale=1, progress=False)
        if output_type == "pt":
            images_out: Any = (out + 1) / 2
        else:
            arr = ((out + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
            if output_type == "np":
                images_out = arr.astype("float32") / 255.0
            else:
                from PIL import Image

                images_out = [Image.fromarray(a) for a in arr]
        if not return_dict:
            return (images_out,)
        return ImagePipelineOutput(images=images_out)
