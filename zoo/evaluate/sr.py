"""Super-resolution quality: PSNR and SSIM on the Y channel, as SR papers report them.

Protocol: HR photo cropped to a multiple of the scale, LR = bicubic downscale (PIL, with
antialiasing like MATLAB's imresize), model output compared with HR on the Y channel of
ITU-R BT.601 YCbCr (Y in [16, 235]) after cropping ``scale`` pixels at each border. SSIM uses
the 11x11 Gaussian window (sigma 1.5) of Wang et al. with K1=0.01, K2=0.03, L=255, averaged over
the valid region. A bicubic upscale is scored in the same table as the baseline.

Calling convention for SR models: ``pipe(prompt=..., image=PIL.Image, **kwargs).images[0]``
returns the upscaled PIL image (diffusers' upscale pipelines). A plugin with another
convention overrides the suite in its ``eval_model`` hook and can reuse ``sr_eval`` with its
own ``upscale`` callable.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Optional

from ..errors import ZooError
from ..specs import ModelSpec


def rgb_to_y(img: Any) -> Any:
    """BT.601 luma of an HxWx3 RGB image with values in [0, 255]: float64 in [16, 235]."""
    import numpy as np

    x = np.asarray(img, dtype=np.float64)
    if x.ndim != 3 or x.shape[-1] != 3:
        raise ZooError(f"expected an HxWx3 RGB image, got shape {x.shape}")
    return 16.0 + (65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2]) / 255.0


def _prep(a: Any, b: Any, crop: int) -> tuple[Any, Any]:
    import numpy as np

    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ZooError(f"images differ in size: {a.shape} vs {b.shape}")
    ya, yb = (rgb_to_y(a), rgb_to_y(b)) if a.ndim == 3 else (a.astype(np.float64), b.astype(np.float64))
    if crop:
        ya, yb = ya[crop:-crop, crop:-crop], yb[crop:-crop, crop:-crop]
    return ya, yb


def psnr_y(img: Any, ref: Any, crop: int = 0) -> float:
    """PSNR (dB) on the Y channel (or on a 2-D gray image as is), peak 255."""
    import numpy as np

    ya, yb = _prep(img, ref, crop)
    mse = float(np.mean((ya - yb) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> Any:
    import numpy as np

    r = np.arange(size) - (size - 1) / 2
    g = np.exp(-(r**2) / (2 * sigma**2))
    g /= g.sum()
    return np.outer(g, g)


def ssim_y(img: Any, ref: Any, crop: int = 0) -> float:
    """SSIM on the Y channel (Gaussian 11x11 window, sigma 1.5, L=255, valid region mean)."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    ya, yb = _prep(img, ref, crop)
    w = torch.from_numpy(_gaussian_window())[None, None]
    x = torch.from_numpy(np.ascontiguousarray(ya))[None, None]
    y = torch.from_numpy(np.ascontiguousarray(yb))[None, None]
    if min(x.shape[-2:]) < 11:
        raise ZooError(f"SSIM needs images of at least 11x11 after the border crop, got {tuple(x.shape[-2:])}")
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = F.conv2d(x, w), F.conv2d(y, w)
    sxx = F.conv2d(x * x, w) - mx**2
    syy = F.conv2d(y * y, w) - my**2
    sxy = F.conv2d(x * y, w) - mx * my
    m = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx**2 + my**2 + c1) * (sxx + syy + c2))
    return float(m.mean())


# -- protocol ------------------------------------------------------------------------------------
def mod_crop(img: Any, scale: int) -> Any:
    h, w = img.shape[:2]
    return img[: h - h % scale, : w - w % scale]


def downscale(hr: Any, scale: int) -> Any:
    """The LR input: bicubic downscale of the HR photo (PIL bicubic, antialiased)."""
    import numpy as np
    from PIL import Image

    h, w = hr.shape[:2]
    return np.asarray(Image.fromarray(hr).resize((w // scale, h // scale), Image.BICUBIC))


def bicubic_upscale(lr: Any, scale: int) -> Any:
    import numpy as np
    from PIL import Image

    h, w = lr.shape[:2]
    return np.asarray(Image.fromarray(np.asarray(lr)).resize((w * scale, h * scale), Image.BICUBIC))


def pipeline_upscaler(pipe: Any, scale: int, prompt: str = "", tile: Optional[int] = 128, context: int = 16,
                      progress: bool = True, **call_kwargs: Any) -> Callable[[Any], Any]:
    """LR uint8 array -> SR uint8 array through ``pipe(prompt=, image=PIL).images[0]``; an image
    larger than one tile runs in disjoint LR tiles of ``tile`` pixels, each padded with ``context``
    LR pixels of its neighbours (``zoo.tiling.context_tiled``: 0% overlap, no blending)."""
    import numpy as np
    import torch
    from PIL import Image

    from ..tiling import context_tiled

    def call(tile_t: Any) -> Any:
        arr = (tile_t[0].permute(1, 2, 0).clamp(0, 255).round().to(torch.uint8)).numpy()
        out = pipe(prompt=prompt, image=Image.fromarray(arr), **call_kwargs).images[0]
        out = np.asarray(out.convert("RGB") if hasattr(out, "convert") else out)
        if out.dtype != np.uint8:  # pipelines with output_type='np' give floats in [0, 1]
            out = (np.clip(out, 0, 1) * 255).round().astype(np.uint8)
        return torch.from_numpy(np.array(out)).permute(2, 0, 1)[None].float()

    def upscale(lr: Any) -> Any:
        x = torch.from_numpy(np.array(lr, copy=True)).permute(2, 0, 1)[None].float()
        y = call(x) if tile is None else context_tiled(call, x, tile=tile, context=context, scale=scale,
                                                       progress=progress)
        return y[0].permute(1, 2, 0).clamp(0, 255).round().to(torch.uint8).numpy()

    return upscale


def suite_tile(model: Any, config: dict[str, Any], context: int) -> Optional[int]:
    """The LR tile of the sr suite: ``memory_budget_mb`` given -> ``zoo.tiling.tile_for_budget`` at the
    per-LR-pixel cost ``mb_per_lr_pixel`` (the option, else the pipeline's config); else ``tile``
    (128; None = whole image)."""
    budget = config.get("memory_budget_mb")
    if budget is None:
        return config.get("tile", 128)
    from ..tiling import tile_for_budget

    pipe_cfg = getattr(model, "config", None)
    per_px = config.get("mb_per_lr_pixel") or (pipe_cfg.get("mb_per_lr_pixel") if isinstance(pipe_cfg, dict) else None)
    if not per_px:
        raise ZooError("memory_budget_mb needs the model's memory cost per LR pixel: pass mb_per_lr_pixel "
                       "(measure it as benchmarks/tocsr_tiling.py does)")
    return tile_for_budget(float(budget), float(per_px), context=context, align=1)


def sr_eval(upscale: Callable[[Any], Any], photos: dict[str, Any], scale: int = 4, crop: Optional[int] = None,
            progress: bool = True, desc: str = "sr") -> dict[str, dict[str, float]]:
    """{photo: {'psnr_y', 'ssim_y'}} of ``upscale`` (LR uint8 HxWx3 -> HR) on the photos."""
    from tqdm.auto import tqdm

    crop = scale if crop is None else crop
    out = {}
    for name, img in tqdm(photos.items(), desc=desc, unit="photo", disable=not progress):
        hr = mod_crop(img, scale)
        lr = downscale(hr, scale)
        sr = upscale(lr)
        if sr.shape != hr.shape:
            raise ZooError(f"the upscaler returned {sr.shape} for a {lr.shape} input; expected {hr.shape} (x{scale})")
        out[name] = {"psnr_y": psnr_y(sr, hr, crop), "ssim_y": ssim_y(sr, hr, crop)}
    return out


def sr_records(spec: ModelSpec, scores: dict[str, dict[str, float]], backend: str, settings: dict[str, Any],
               device: str) -> list[dict[str, Any]]:
    from .photos import DATASET_NAME
    from .records import make_record

    recs = []
    for metric, unit in (("psnr_y", "dB"), ("ssim_y", "")):
        vals = {k: v[metric] for k, v in scores.items()}
        recs.append(make_record(spec.id, "sr", metric, sum(vals.values()) / len(vals), unit=unit, dataset=DATASET_NAME,
                                backend=backend, device=device, settings=settings, task=spec.pipeline_tag,
                                per_image=vals))
    return recs


def sr_suite(model: Any, spec: ModelSpec, config: dict[str, Any]) -> list[dict[str, Any]]:
    """Options: photos (names; default photos.DEFAULT), scale (spec.config['scale'] or 4),
    prompt (''), tile (LR tile side, 128; None = whole image), context (LR pixels of neighbour context per
    tile side, 16; zoo.tiling.context_tiled), memory_budget_mb (tile from this budget and mb_per_lr_pixel,
    the option or the pipeline's config), baseline (True),
    call_kwargs (dict passed to the pipeline, e.g. num_inference_steps), progress (True)."""
    from .photos import load_photos
    from .records import machine_description

    if spec.task != "super-resolution":
        raise ZooError(f"the sr suite needs a super-resolution model; {spec.id} is {spec.task}")
    scale = int(config.get("scale") or spec.config.get("scale", 4))
    photos = load_photos(config.get("photos"))
    progress = config.get("progress", True)
    settings = {"scale": scale, "crop": scale, "photos": len(photos), "lr": "bicubic"}
    recs = []
    if config.get("baseline", True):
        base = sr_eval(lambda lr: bicubic_upscale(lr, scale), photos, scale, progress=progress, desc="sr bicubic")
        recs += sr_records(spec, base, "bicubic", settings, "CPU (PIL)")
    if not callable(model):
        raise ZooError(f"{spec.id}: the sr suite calls the pipeline as pipe(prompt=, image=PIL); got a {type(model).__name__}")
    call_kwargs = dict(config.get("call_kwargs") or {})
    context = int(config.get("context", 16))
    tile = suite_tile(model, config, context)
    up = pipeline_upscaler(model, scale, config.get("prompt", ""), tile, context, progress, **call_kwargs)
    scores = sr_eval(up, photos, scale, progress=progress, desc=f"sr {spec.id}")
    device = getattr(model, "device", "cpu")
    tiling = {"tile": tile} if tile is None else {"tile": tile, "context": context, "tiling": "context_tiled"}
    if config.get("memory_budget_mb") is not None:
        tiling["memory_budget_mb"] = float(config["memory_budget_mb"])
    recs += sr_records(spec, scores, "torch", {**settings, **tiling, **{k: v for k, v in call_kwargs.items() if isinstance(v, (int, float, str))}},
                       machine_description(device))
    return recs
