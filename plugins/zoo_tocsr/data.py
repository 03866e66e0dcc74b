"""Training pairs for TOC-SR: HR photo patches of the proving ground and their LR inputs.

Degradations [choice from toc-sr.md]: ``bicubic`` (PIL bicubic x4, exactly as the SR benchmark
makes its inputs) and ``realworld`` (a Real-ESRGAN-style first-order chain: Gaussian blur of random
width, bicubic x4 down, Gaussian noise, JPEG at a random quality), seeded per batch.
"""
from __future__ import annotations

import io
from typing import Any

import numpy as np

DEGRADATIONS = ("bicubic", "realworld")


def realworld(hr: np.ndarray, rng: np.random.Generator, scale: int = 4) -> np.ndarray:
    """Blur -> bicubic down -> noise -> JPEG of uint8 NHWC patches (one draw of each per patch)."""
    from PIL import Image, ImageFilter

    out = []
    for p in hr:
        im = Image.fromarray(p).filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.2, 2.0))))
        h, w = p.shape[:2]
        im = im.resize((w // scale, h // scale), Image.BICUBIC)
        a = np.asarray(im, dtype=np.float32) + rng.normal(0.0, rng.uniform(1.0, 10.0), (h // scale, w // scale, 3))
        im = Image.fromarray(np.clip(a, 0, 255).round().astype(np.uint8))
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=int(rng.integers(40, 96)))
        out.append(np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")))
    return np.stack(out)


def degrade(hr: np.ndarray, mode: str, seed: int, scale: int = 4) -> np.ndarray:
    from zoo import ZooError
    from zoo.proving.photos import downscale_batch

    if mode == "bicubic":
        return downscale_batch(hr, scale)
    if mode == "realworld":
        return realworld(hr, np.random.default_rng(seed), scale)
    raise ZooError(f"degradation must be one of {list(DEGRADATIONS)}, got {mode!r}")


def sr_batch(hr_pool: np.ndarray, step: int, batch: int, mode: str, seed: int, scale: int = 4) -> tuple[Any, Any]:
    """(lr, hr) float NCHW tensors in [-1, 1]: ``batch`` patches of the pool, drawn by (seed, step)."""
    from zoo.proving.photos import to_tensor

    rng = np.random.default_rng([seed, step])
    idx = rng.choice(len(hr_pool), size=batch, replace=len(hr_pool) < batch)
    hr = hr_pool[idx]
    return to_tensor(degrade(hr, mode, int(rng.integers(2**31)), scale)), to_tensor(hr)
