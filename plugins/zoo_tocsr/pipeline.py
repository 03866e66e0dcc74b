"""TOCSRPipeline: one-step x4 super-resolution in a 16-channel latent space.

LR -> bicubic x``scale`` -> VAE encode (posterior mode) -> one UNet pass at a fixed timestep ->
x0 from the predicted noise at that timestep (the scheduler's own formula) -> VAE decode. The UNet
sees no text: its cross-attention context is ``context_tokens`` zero vectors [choice].

``skip=True`` [choice, tocsr-x4-mini] decodes a latent residual: output = bicubic + D(x0) - D(z_lr),
so the autoencoder's own reconstruction error cancels (a miniature VAE trained for minutes is far
from lossless; SD-scale VAEs are close enough that the full-size variants keep ``skip=False``). It
costs one more decoder pass, still one UNet call.

Images above ``tile`` LR pixels a side run through ``zoo.tiling.context_tiled``: disjoint LR tiles,
each padded with ``context`` LR pixels of real neighbour content, whose cores are stitched with no
blending; ``tile=None`` takes the tile from ``memory_budget_mb`` (``zoo.tiling.tile_for_budget``).
"""
from __future__ import annotations

from typing import Any, Optional

import torch
from diffusers import DiffusionPipeline, ImagePipelineOutput

from zoo import ZooError

MIN_SIDE = 8  # LR pixels: below this the 8x VAE has less than one latent pixel of context
MAX_PIXELS = 4096 * 4096  # LR pixels: the x4 output would be 268 Mpx


class TOCSRPipeline(DiffusionPipeline):
    model_cpu_offload_seq = "vae->unet->vae"

    def __init__(self, unet: Any, vae: Any, scheduler: Any, scale: int = 4, timestep: int = 999,
                 context_tokens: int = 77, mb_per_lr_pixel: float = 0.5, skip: bool = False) -> None:
        super().__init__()
        self.register_modules(unet=unet, vae=vae, scheduler=scheduler)
        self.register_to_config(scale=scale, timestep=timestep, context_tokens=context_tokens,
                                mb_per_lr_pixel=mb_per_lr_pixel, skip=skip)

    # ------------------------------------------------------------------ parts (also used in training)
    def encode(self, hr_like: torch.Tensor) -> torch.Tensor:
        vae = self.vae
        z = vae.encode(hr_like.to(vae.device, vae.dtype)).latent_dist.mode()
        return (z - (vae.config.shift_factor or 0.0)) * vae.config.scaling_factor

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        vae = self.vae
        z = z / vae.config.scaling_factor + (vae.config.shift_factor or 0.0)
        return vae.decode(z.to(vae.dtype)).sample

    def context(self, batch: int) -> torch.Tensor:
        u = self.unet
        return torch.zeros(batch, self.config.context_tokens, u.config.cross_attention_dim, device=u.device, dtype=u.dtype)

    def one_step(self, z_lr: torch.Tensor) -> torch.Tensor:
        """The HR latent from the LR latent in one UNet call at the fixed timestep."""
        t = torch.full((z_lr.shape[0],), int(self.config.timestep), device=z_lr.device, dtype=torch.long)
        eps = self.unet(z_lr.to(self.unet.dtype), t, encoder_hidden_states=self.context(z_lr.shape[0])).sample
        ab = self.scheduler.alphas_cumprod.to(z_lr.device)[int(self.config.timestep)]
        return (z_lr - (1 - ab).sqrt() * eps.to(z_lr.dtype)) / ab.sqrt()

    def restore(self, up: torch.Tensor) -> torch.Tensor:
        """The one-step output (NCHW, unclamped) for a bicubic-upscaled image (NCHW in [-1, 1])."""
        z = self.encode(up)
        y = self.decode(self.one_step(z))
        if self.config.get("skip", False):
            y = up.to(y.device, y.dtype) + (y - self.decode(z))
        return y

    def upscale_tensor(self, lr: torch.Tensor) -> torch.Tensor:
        """HR image (NCHW in [-1, 1]) of an LR tensor (NCHW in [-1, 1], sides a multiple of 2)."""
        up = torch.nn.functional.interpolate(lr.float(), scale_factor=self.config.scale, mode="bicubic",
                                             align_corners=False).clamp(-1, 1)
        return self.restore(up).float().clamp(-1, 1).cpu()

    # ------------------------------------------------------------------ user entry point
    def _lr_tensor(self, images: list) -> torch.Tensor:
        from PIL import Image

        sizes = set()
        for im in images:
            if not isinstance(im, Image.Image):
                raise ZooError(f"TOCSRPipeline takes a PIL image (or a list of them), got {type(im).__name__}; "
                               "open files with PIL.Image.open(path)")
            w, h = im.size
            if min(w, h) < MIN_SIDE:
                raise ZooError(f"the image is {w}x{h}; TOC-SR needs at least {MIN_SIDE}x{MIN_SIDE} pixels")
            if w * h > MAX_PIXELS:
                raise ZooError(f"the image is {w}x{h} ({w * h / 1e6:.0f} Mpx); TOC-SR takes at most "
                               f"{MAX_PIXELS / 1e6:.0f} Mpx: crop or downscale it first")
            sizes.add((w, h))
        if len(sizes) != 1:
            raise ZooError("all images of one call must have the same size")
        import numpy as np

        arr = np.stack([np.asarray(im.convert("RGB"), dtype=np.float32) for im in images])
        # in place: the float LR is the one input-sized buffer a call holds
        return torch.from_numpy(arr).permute(0, 3, 1, 2).div_(127.5).sub_(1)

    @torch.no_grad()
    def __call__(self, image: Any = None, prompt: Any = None, num_inference_steps: int = 1,
                 generator: Optional[torch.Generator] = None, tile: Optional[int] = 64, context: int = 16,
                 memory_budget_mb: Optional[float] = None, output_type: str = "pil", return_dict: bool = True) -> Any:
        """Upscale ``image`` (PIL RGB, or a list of same-size ones) x4 in one UNet call per tile.

        ``prompt``, ``num_inference_steps`` and ``generator`` are accepted for diffusers' upscaler
        calling convention; the model is prompt-free, one-step and deterministic. ``tile``: LR core
        tile side (``None``: from ``memory_budget_mb``); ``context``: LR pixels of neighbour context.
        """
        from zoo.tiling import context_tiled, tile_for_budget

        if image is None:
            raise ZooError("TOCSRPipeline needs image=PIL.Image")
        if output_type not in ("pil", "np", "pt"):
            raise ZooError(f"output_type must be 'pil', 'np' or 'pt', got {output_type!r}")
        images = list(image) if isinstance(image, (list, tuple)) else [image]
        lr = self._lr_tensor(images)
        h, w = lr.shape[-2:]
        # the LR grid is 2 px (one 8x latent pixel after x4); pad by edge replication, crop back after
        ph, pw = (-h) % 2, (-w) % 2
        if ph or pw:
            lr = torch.nn.functional.pad(lr, (0, pw, 0, ph), mode="replicate")
        if tile is None:
            budget = memory_budget_mb if memory_budget_mb is not None else 2048.0
            tile = tile_for_budget(budget, self.config.mb_per_lr_pixel, context=context, align=2)
        show = not getattr(self, "_progress_bar_config", {}).get("disable", False)
        out = context_tiled(self.upscale_tensor, lr, tile=int(tile), context=int(context), scale=self.config.scale,
                            align=2, progress=show and max(h, w) > 2 * int(tile))
        s = self.config.scale
        out = out[..., : h * s, : w * s]
        from zoo.tiling import images_in_place

        result = images_in_place(out, output_type)
        del out
        if not return_dict:
            return (result,)
        return ImagePipelineOutput(images=result)
