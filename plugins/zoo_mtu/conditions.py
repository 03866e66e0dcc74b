"""The condition image of each MTU task, in pixels and as the latent conv_in concatenates.

- edit: the input photo;
- sr: the bicubic upsample of the low-resolution photo to the output size (PIL bicubic for PIL /
  uint8 inputs, as the proving ground's SR pairs; torch bicubic for tensors);
- inpaint: the photo with the pixels under ``mask_image`` (white = fill, diffusers' convention) set
  to 0 in [-1, 1] (mid-gray), the paper's 8 channels (no mask channel);
- t2i: no image.

The latent is the VAE posterior's mode, unscaled, as InstructPix2Pix encodes its image (so an
InstructPix2Pix-style base such as mini-edit keeps its meaning of the condition channels).
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

from zoo import ZooError

SR_SCALE = 4


def _as_list(x: Any) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _uint8(image: Any, what: str) -> Any:
    import numpy as np

    a = np.asarray(image.convert("RGB") if hasattr(image, "convert") else image)
    if a.ndim != 3 or a.shape[-1] != 3:
        raise ZooError(f"{what} must be an RGB image (PIL, HxWx3 uint8 array or [-1, 1] NCHW tensor), got shape {a.shape}")
    if a.dtype != np.uint8:
        a = np.clip(a * 255.0 if a.max() <= 1.0 else a, 0, 255).round().astype(np.uint8)
    return a


def pixels(image: Any) -> Any:
    """``image`` (PIL, uint8 HxWx3, a list of them, or a [-1, 1] tensor) -> float NCHW in [-1, 1]."""
    import numpy as np
    import torch

    if isinstance(image, torch.Tensor):
        x = image if image.ndim == 4 else image[None]
        if x.shape[1] != 3:
            raise ZooError(f"an image tensor must be Nx3xHxW in [-1, 1], got shape {tuple(image.shape)}")
        return x.float()
    arrs = [_uint8(im, "image") for im in _as_list(image)]
    if len({a.shape for a in arrs}) != 1:
        raise ZooError("all images of one call must have the same size")
    return torch.from_numpy(np.stack(arrs)).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def _mask(mask_image: Any, n: int, hw: tuple) -> Any:
    """(N, 1, H, W) float mask, 1 = fill; white (> half) in a PIL / uint8 / [0, 1] mask marks a pixel to fill."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    if isinstance(mask_image, torch.Tensor):
        m = mask_image.float()
        m = m.reshape(-1, 1, *m.shape[-2:]) if m.ndim != 4 else m[:, :1]
    else:
        arrs = []
        for im in _as_list(mask_image):
            a = np.asarray(im.convert("L") if hasattr(im, "convert") else im, dtype=np.float32)
            a = a.mean(-1) if a.ndim == 3 else a
            arrs.append(a / 255.0 if a.max() > 1 else a)
        m = torch.from_numpy(np.stack(arrs))[:, None]
    if m.shape[-2:] != hw:
        m = F.interpolate(m, size=hw, mode="nearest")
    if m.shape[0] not in (1, n):
        raise ZooError(f"got {m.shape[0]} masks for {n} images: pass one mask, or one per image")
    return (m > 0.5).float().expand(n, 1, *hw)


def condition_pixels(task: str, image: Any, mask_image: Any = None, size: Optional[Sequence[int]] = None) -> Any:
    """The condition image of ``task`` as float NCHW in [-1, 1] at ``size`` = (H, W) (default: the input's
    size; x4 for sr)."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from PIL import Image

    if task == "sr":
        if isinstance(image, torch.Tensor):
            x = pixels(image)
            hw = tuple(size) if size else (x.shape[-2] * SR_SCALE, x.shape[-1] * SR_SCALE)
            return F.interpolate(x, size=hw, mode="bicubic", align_corners=False).clamp(-1, 1)
        arrs = [_uint8(im, "image") for im in _as_list(image)]
        h, w = tuple(size) if size else (arrs[0].shape[0] * SR_SCALE, arrs[0].shape[1] * SR_SCALE)
        up = [np.asarray(Image.fromarray(a).resize((w, h), Image.BICUBIC)) for a in arrs]
        return pixels(up)
    x = pixels(image)
    if size and tuple(x.shape[-2:]) != tuple(size):
        x = F.interpolate(x, size=tuple(size), mode="bicubic", align_corners=False).clamp(-1, 1)
    if task == "inpaint":
        x = x * (1 - _mask(mask_image, x.shape[0], tuple(x.shape[-2:])))
    return x


def encode(vae: Any, x: Any) -> Any:
    """The unscaled posterior mode of ``x`` (InstructPix2Pix's image latent)."""
    import torch

    with torch.no_grad():
        return vae.encode(x.to(vae.device, vae.dtype)).latent_dist.mode()


def condition_latent(pipe: Any, task: str, image: Any, mask_image: Any = None,
                     size: Optional[Sequence[int]] = None) -> Any:
    return encode(pipe.vae, condition_pixels(task, image, mask_image, size))
