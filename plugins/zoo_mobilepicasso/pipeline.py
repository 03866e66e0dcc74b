"""MobilePicassoPipeline: instruction editing at a standard resolution, output at high resolution.

1. Edit: InstructPix2Pix's own denoising loop (this class *is* a StableDiffusionInstructPix2PixPipeline,
   so schedulers, callbacks, LoRA, slicing, FreeU behave as diffusers users expect) on the input
   resized to ``edit_size`` (the long side), stopping at the edited latent (no decode).
2. Latent projection: the edited latent, resized onto the upscaler's latent grid for the requested
   output size, goes through ``projection`` (a learned LatentProjection) to the upscaler's input
   latent; no decode / re-encode round trip through pixels.
3. One-step upscaling (TOC-SR's one UNet call at a fixed timestep, then the upscaler's VAE decoder)
   tile by tile (``zoo.tiling.context_windows``): disjoint latent tiles padded with real neighbour
   context, no blending; the tile side comes from ``memory_budget_mb`` and the measured cost per
   latent pixel (``zoo.tiling.tile_for_budget``), so peak memory is set by the budget, not the image.

Stages 2-3 run per tile end to end: each tile resizes its own window of the edited latent (two small
bicubic matrices, ``resize.py``), projects and upscales it, adds a skip upscaler's bicubic term for its
core, and writes its core into the output preallocated in its final form (``zoo.tiling.ImageSink``:
uint8 for PIL). Beyond that output nothing grows with the output size: no resized whole latent, no
whole-image float copy (``benchmarks/mobilepicasso_memory.py`` measures the working memory above it).
"""
from __future__ import annotations

from typing import Any, Optional

import torch
from diffusers import StableDiffusionInstructPix2PixPipeline
from diffusers.pipelines.stable_diffusion import StableDiffusionPipelineOutput

from zoo import ZooError

from .resize import resize_window

MAX_OUTPUT_PIXELS = 8192 * 8192


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

    def decoded(self, z: torch.Tensor) -> torch.Tensor:
        """The edit decoded at the edit size (NCHW in [-1, 1], float32): a skip upscaler's bicubic source."""
        vae = self.vae
        return vae.decode(z.to(vae.dtype) / vae.config.scaling_factor).sample.float().clamp(-1, 1)

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
        # an RGB photo is resized as it is (convert() would copy a 4K photo whole first)
        small = [(im if im.mode == "RGB" else im.convert("RGB")).resize((ew, eh), Image.BICUBIC) for im in images]
        z = super().__call__(prompt=prompt, image=small, output_type="latent", return_dict=True, **kwargs).images
        return z, out_wh

    def upscale_into(self, z: torch.Tensor, out_wh: tuple, write: Any, tile: Optional[int] = None,
                     tile_context: Optional[int] = None, memory_budget_mb: Optional[float] = None) -> None:
        """Stages 2-3, streamed: per tile of the upscaler's latent grid covering ``out_wh`` (padded to it),
        its window of the edited latent ``z`` resized onto the grid, the projection and one-step SR, a skip
        upscaler's bicubic term for the core, then ``write(pixels, top, left)`` of the core (NCHW in [-1, 1],
        float32; it may reach past ``out_wh`` where the grid is padded). Only one tile's buffers are alive
        at a time, and nothing here is output-sized."""
        from zoo.tiling import context_windows

        ow, oh = out_wh
        f = self.sr_grid()
        grid = (-(-oh // f), -(-ow // f))
        context = int(self.config.tile_context if tile_context is None else tile_context)
        boxes = context_windows(*grid, tile=self.tile_side(tile, memory_budget_mb, context), context=context)
        sr = self.upscaler()
        skip = bool(sr.config.get("skip", False))
        img = self.decoded(z) if skip else None  # the edit size: fixed whatever the output
        z = z.float()
        with self.progress_bar(total=len(boxes)) as bar:
            for (py0, py1, px0, px1), (y0, y1, x0, x1) in boxes:
                y = self.upscale_latent(resize_window(z, grid, (py0, py1, px0, px1)), sr, skip)
                y = y[..., (y0 - py0) * f:(y1 - py0) * f, (x0 - px0) * f:(x1 - px0) * f]
                if skip:  # the upscaler adds its decoded residual to the bicubic upsample of its input
                    y = y + resize_window(img, (grid[0] * f, grid[1] * f), (y0 * f, y1 * f, x0 * f, x1 * f))
                write(y.clamp_(-1, 1), y0 * f, x0 * f)
                del y  # before the next tile's buffers
                bar.update()

    def upscale(self, z: torch.Tensor, out_wh: tuple, tile: Optional[int] = None, tile_context: Optional[int] = None,
                memory_budget_mb: Optional[float] = None) -> torch.Tensor:
        """Stages 2-3 as one tensor: output pixels (NCHW in [-1, 1], float32) of the edited latent ``z`` at
        ``out_wh`` (``upscale_into`` writing into it)."""
        ow, oh = out_wh
        out = torch.empty(z.shape[0], 3, oh, ow)

        def write(y: torch.Tensor, top: int, left: int) -> None:
            h, w = min(y.shape[-2], oh - top), min(y.shape[-1], ow - left)
            out[..., top:top + h, left:left + w] = y[..., :h, :w]

        self.upscale_into(z, out_wh, write, tile=tile, tile_context=tile_context, memory_budget_mb=memory_budget_mb)
        return out

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
        from zoo.tiling import ImageSink

        z, (ow, oh) = self.edit_latent(prompt, image, output_size, **kwargs)
        sink = ImageSink(output_type, z.shape[0], oh, ow)  # the output in its final form, filled tile by tile
        self.upscale_into(z, (ow, oh), sink.write, tile=tile, tile_context=tile_context,
                          memory_budget_mb=memory_budget_mb)
        del z
        self.maybe_free_model_hooks()
        result = sink.result()
        if not return_dict:
            return (result, None)
        return StableDiffusionPipelineOutput(images=result, nsfw_content_detected=None)
