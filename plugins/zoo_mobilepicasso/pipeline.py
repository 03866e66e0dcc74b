"""MobilePicassoPipeline: instruction editing at a standard resolution, output at high resolution.

1. Edit: InstructPix2Pix's own denoising loop (this class *is* a StableDiffusionInstructPix2PixPipeline,
   so schedulers, callbacks, LoRA, slicing, FreeU behave as diffusers users expect) on the input
   resized to ``edit_size`` (the long side), stopping at the edited latent (no decode).
2. Latent projection: the edited latent, resized onto the upscaler's latent grid for the requested
   output size, goes through ``projection`` (a learned LatentProjection) to the upscaler's input
   latent; no decode / re-encode round trip through pixels.
3. One-step upscaling (TOC-SR's one UNet call at a fixed timestep, then the upscaler's VAE decoder)
   tile by tile with ``zoo.tiling.context_tiled``: disjoint latent tiles padded with real neighbour
   context, no blending; the tile side comes from ``memory_budget_mb`` and the measured cost per
   latent pixel (``zoo.tiling.tile_for_budget``), so peak memory is set by the budget, not the image.
"""
from __future__ import annotations

from typing import Any, Optional

import torch
from diffusers import StableDiffusionInstructPix2PixPipeline
from diffusers.pipelines.stable_diffusion import StableDiffusionPipelineOutput

from zoo import ZooError

MAX_OUTPUT_PIXELS = 8192 * 8192


def _resize_matrix(n: int, m: int) -> torch.Tensor:
    """(m, n) weights of torch's bicubic resize (align_corners=False) of a length-n axis to length m."""
    eye = torch.eye(n)[None, None]
    return torch.nn.functional.interpolate(eye, size=(m, n), mode="bicubic", align_corners=False)[0, 0]


def _vae_factor(vae: Any) -> int:
    return 2 ** (len(vae.config.block_out_channels) - 1)


class MobilePicassoPipeline(StableDiffusionInstructPix2PixPipeline):
    model_cpu_offload_seq = "text_encoder->unet->vae->projection->sr_unet->sr_vae"

    def __init__(self, vae: Any, text_encoder: Any, tokenizer: Any, unet: Any, scheduler: Any, projection: Any,
                 sr_unet: Any, sr_vae: Any, sr_scheduler: Any, safety_checker: Any = None, feature_extractor: Any = None,
                 image_encoder: Any = None, requires_safety_checker: bool = False, edit_size: int = 512, scale: int = 4,
                 sr_kwargs: Optional[dict] = None, memory_budget_mb: float = 1024.0,
                 mb_per_latent_pixel: float = 0.5, tile_context: int = 8, upscaler_id: str = "tocsr-x4") -> None:
        super().__init__(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
                         safety_checker=safety_checker, feature_extractor=feature_extractor, image_encoder=image_encoder,
                         requires_safety_checker=requires_safety_checker)
        self.register_modules(projection=projection, sr_unet=sr_unet, sr_vae=sr_vae, sr_scheduler=sr_scheduler)
        self.register_to_config(edit_size=edit_size, scale=scale, sr_kwargs=dict(sr_kwargs or {}),
                                memory_budget_mb=memory_budget_mb,
                                mb_per_latent_pixel=mb_per_latent_pixel, tile_context=tile_context, upscaler_id=upscaler_id)

    # ------------------------------------------------------------------ parts (also used in training)
    def upscaler(self) -> Any:
        """The one-step upscaler (the class of the registered ``upscaler_id``, found through the registry)
        over this pipeline's SR components (shared, not copied), with its own settings ``sr_kwargs``."""
        import zoo

        cls = zoo.pipeline_class(self.config.upscaler_id)
        return cls(unet=self.sr_unet, vae=self.sr_vae, scheduler=self.sr_scheduler, **self.config.sr_kwargs)

    def edit_grid(self) -> int:
        """Pixels per editor latent pixel times the editor UNet's downsampling (edit sides are multiples)."""
        return _vae_factor(self.vae) * 2 ** (len(self.unet.config.block_out_channels) - 1)

    def sr_grid(self) -> int:
        return _vae_factor(self.sr_vae)

    def projected(self, z_edit: torch.Tensor, out_hw: tuple) -> torch.Tensor:
        """The editor's latent resized onto the upscaler's latent grid for an ``out_hw`` output (untiled part)."""
        f = self.sr_grid()
        return self.projection.resize(z_edit.float(), (out_hw[0] // f, out_hw[1] // f))

    def upscale_latent(self, u: torch.Tensor, sr: Any = None, residual: bool = False) -> torch.Tensor:
        """Output pixels (NCHW in [-1, 1], float32) of a tile of the resized edited latent; with ``residual``
        (an upscaler with ``skip``: output = bicubic + D(x0) - D(z_lr)) the unclamped D(x0) - D(z_lr)."""
        sr = self.upscaler() if sr is None else sr
        z_lr = self.projection(u.to(self.projection.device)).to(self.sr_unet.dtype)
        y = sr.decode(sr.one_step(z_lr)).float()
        return y - sr.decode(z_lr).float() if residual else y.clamp(-1, 1)

    def add_bicubic(self, out: torch.Tensor, z: torch.Tensor, band: int) -> torch.Tensor:
        """``out`` += the bicubic upsample of the edit decoded at the edit size, in place, ``band`` output
        rows at a time (separable: two small resize matrices, no second image-sized buffer)."""
        vae = self.vae
        img = vae.decode(z.to(vae.dtype) / vae.config.scaling_factor).sample.float().clamp(-1, 1)
        mh, mw = (_resize_matrix(n, m) for n, m in zip(img.shape[-2:], out.shape[-2:]))
        rows = torch.einsum("bchw,vw->bchv", img, mw)  # (B, 3, edit h, output w)
        for r0 in range(0, out.shape[-2], band):
            out[..., r0:r0 + band, :] += torch.einsum("rh,bchw->bcrw", mh[r0:r0 + band], rows)
        return out

    def tile_side(self, tile: Optional[int], memory_budget_mb: Optional[float], context: int) -> int:
        from zoo.tiling import tile_for_budget

        if tile is not None:
            if int(tile) < 1:
                raise ZooError(f"tile must be a positive number of upscaler latent pixels, got {tile}")
            return int(tile)
        budget = self.config.memory_budget_mb if memory_budget_mb is None else memory_budget_mb
        return tile_for_budget(float(budget), float(self.config.mb_per_latent_pixel), context=context, align=8)

    # ------------------------------------------------------------------ inputs
    def _sizes(self, images: list, output_size: Any) -> tuple[tuple, tuple]:
        from PIL import Image

        sizes = set()
        for im in images:
            if not isinstance(im, Image.Image):
                raise ZooError(f"MobilePicassoPipeline takes a PIL image (or a list of them), got {type(im).__name__}; "
                               "open files with PIL.Image.open(path)")
            sizes.add(im.size)
        if len(sizes) != 1:
            raise ZooError("all images of one call must have the same size")
        w, h = sizes.pop()
        e, g, f = int(self.config.edit_size), self.edit_grid(), self.sr_grid()
        if output_size is None:  # a large photo comes back at its own size; a small one upscaled x scale
            ow, oh = (w, h) if max(w, h) > e else (w * self.config.scale, h * self.config.scale)
        else:
            ow, oh = (output_size, output_size) if isinstance(output_size, int) else (int(output_size[0]), int(output_size[1]))
        if min(ow, oh) < f or ow * oh > MAX_OUTPUT_PIXELS:
            raise ZooError(f"output size {ow}x{oh} is out of range: at least {f} px a side, at most "
                           f"{MAX_OUTPUT_PIXELS / 1e6:.0f} Mpx")
        k = e / max(w, h)  # the edit keeps the aspect ratio, long side edit_size, sides on the editor's grid
        ew, eh = (max(g, round(v * k / g) * g) for v in (w, h))
        return (ew, eh), (ow, oh)

    # ------------------------------------------------------------------ the two stages
    def edit_latent(self, prompt: Any, image: Any, output_size: Any = None, **kwargs: Any) -> tuple[torch.Tensor, tuple]:
        """Stage 1: the edited latent at the edit size (InstructPix2Pix's loop, no decode) and the output
        size ``(width, height)`` the call will return. ``kwargs`` are InstructPix2Pix's."""
        from PIL import Image

        images = list(image) if isinstance(image, (list, tuple)) else [image]
        (ew, eh), out_wh = self._sizes(images, output_size)
        small = [im.convert("RGB").resize((ew, eh), Image.BICUBIC) for im in images]
        z = super().__call__(prompt=prompt, image=small, output_type="latent", return_dict=True, **kwargs).images
        return z, out_wh

    def upscale(self, z: torch.Tensor, out_wh: tuple, tile: Optional[int] = None, tile_context: Optional[int] = None,
                memory_budget_mb: Optional[float] = None) -> torch.Tensor:
        """Stages 2-3: output pixels (NCHW in [-1, 1], float32) of the edited latent ``z`` at ``out_wh``:
        projection + one-step SR, tile by tile on the upscaler's latent grid (padded to it, cropped after).
        Only the small resized latent and the output are image-sized; each tile's buffers go with it."""
        from zoo.tiling import context_tiled

        ow, oh = out_wh
        f = self.sr_grid()
        u = self.projected(z, (-(-oh // f) * f, -(-ow // f) * f))
        context = int(self.config.tile_context if tile_context is None else tile_context)
        side = self.tile_side(tile, memory_budget_mb, context)
        sr = self.upscaler()
        skip = bool(sr.config.get("skip", False))
        show = not getattr(self, "_progress_bar_config", {}).get("disable", False)
        out = context_tiled(lambda t: self.upscale_latent(t, sr, skip), u, tile=side, context=context, scale=f,
                            progress=show)
        if skip:  # the upscaler adds its decoded residual to the bicubic upsample of its input
            self.add_bicubic(out, z, band=side * f).clamp_(-1, 1)
        return out[..., :oh, :ow]

    # ------------------------------------------------------------------ user entry point
    @torch.no_grad()
    def __call__(self, prompt: Any = None, image: Any = None, *, output_size: Any = None, tile: Optional[int] = None,
                 tile_context: Optional[int] = None, memory_budget_mb: Optional[float] = None,
                 output_type: Optional[str] = "pil", return_dict: bool = True, **kwargs: Any) -> Any:
        """Edit ``image`` (PIL, any size) by the instruction ``prompt`` and return it at ``output_size``
        (default: the input's size for a photo larger than ``edit_size``, else ``scale`` x the input).

        The other arguments are InstructPix2Pix's (num_inference_steps, guidance_scale, image_guidance_scale,
        generator, callback_on_step_end, ...). ``tile``: upscaler-latent tile side (None: from
        ``memory_budget_mb``); ``tile_context``: latent pixels of neighbour context per tile.
        """
        if image is None:
            raise ZooError("MobilePicassoPipeline needs image=PIL.Image (the photo to edit)")
        if output_type not in ("pil", "np", "pt"):
            raise ZooError(f"output_type must be 'pil', 'np' or 'pt', got {output_type!r}")
        z, out_wh = self.edit_latent(prompt, image, output_size, **kwargs)
        out = self.upscale(z, out_wh, tile=tile, tile_context=tile_context, memory_budget_mb=memory_budget_mb)
        del z
        self.maybe_free_model_hooks()
        from zoo.tiling import images_in_place

        result = images_in_place(out, output_type)
        del out
        if not return_dict:
            return (result, None)
        return StableDiffusionPipelineOutput(images=result, nsfw_content_detected=None)
