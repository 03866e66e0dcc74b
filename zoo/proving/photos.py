"""The proving ground's photo task: patches of the real photos that ship in packages, split by photo.

    from zoo.proving import photos
    photos.split_photos("test")                      # ['astronaut', 'coffee', 'flower']
    hr = photos.patches("train", size=64, count=512)  # (512, 64, 64, 3) uint8, fixed seed
    lr, hr = photos.sr_pairs("test", size=64)         # x4 pairs, LR made as the sr suite makes it

The photos are those of the SR suite (``zoo.evaluate.photos``). The held-out ("test") photos are
never cut into training patches, so a model trained on "train" is judged on photos it never saw.
Every sampler takes a seed; the same arguments give the same arrays on any machine.
"""
from __future__ import annotations

from typing import Any, Optional

from ..errors import ZooError

# Split by photo. Held out: three natural colour photos that are also in the SR suite's default set,
# so `zoo eval ID --suite sr --photos astronaut coffee flower` scores held-out photos only.
SPLITS: dict[str, tuple[str, ...]] = {
    "train": ("chelsea", "rocket", "china", "grace_hopper", "hubble_deep_field", "immunohistochemistry", "retina"),
    "test": ("astronaut", "coffee", "flower"),
}
# Patches flatter than this (std of uint8 values) are redrawn: black sky in hubble / retina teaches nothing.
MIN_STD = 12.0
_SEED_OFFSET = {"train": 0, "test": 1_000_003}  # the held-out sampler never shares a stream with training


def split_photos(split: str) -> tuple[str, ...]:
    """Names of the photos in ``split`` ('train' or 'test')."""
    if split not in SPLITS:
        raise ZooError(f"unknown photo split {split!r}: use one of {', '.join(SPLITS)}")
    return SPLITS[split]


def _check_size(size: int, multiple: int = 1, what: str = "patch size") -> int:
    if not isinstance(size, int) or isinstance(size, bool) or size < 8 or size > 256 or size % multiple:
        raise ZooError(f"{what} must be an integer from 8 to 256 and a multiple of {multiple}, got {size!r}")
    return size


def _check_count(count: int) -> int:
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ZooError(f"count must be a positive integer, got {count!r}")
    return count


_CACHE: dict[str, Any] = {}


def _photo(name: str) -> Any:
    from ..evaluate.photos import load_photo

    if name not in _CACHE:
        _CACHE[name] = load_photo(name)
    return _CACHE[name]


def rng_for(split: str, seed: int) -> Any:
    import numpy as np

    split_photos(split)
    return np.random.default_rng(int(seed) + _SEED_OFFSET[split])


def patches_with_sources(split: str = "train", size: int = 64, count: int = 256, seed: int = 0) -> tuple[Any, list[str]]:
    """``(patches, photo_names)``: ``count`` random ``size``x``size`` RGB crops (uint8, NHWC) of the
    photos of ``split``, photos taken in turn, flat crops redrawn; and the photo each came from."""
    import numpy as np

    _check_size(size)
    _check_count(count)
    names = split_photos(split)
    rng = rng_for(split, seed)
    out = np.empty((count, size, size, 3), np.uint8)
    src = []
    for i in range(count):
        name = names[i % len(names)]
        img = _photo(name)
        h, w = img.shape[:2]
        for _ in range(20):
            y, x = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
            crop = img[y:y + size, x:x + size]
            if crop.std() >= MIN_STD:
                break
        out[i] = crop
        src.append(name)
    return out, src


def patches(split: str = "train", size: int = 64, count: int = 256, seed: int = 0) -> Any:
    """``count`` random ``size``x``size`` crops (uint8 NHWC) of the photos of ``split``."""
    return patches_with_sources(split, size, count, seed)[0]


def downscale_batch(hr: Any, scale: int = 4) -> Any:
    """LR inputs for HR uint8 NHWC patches, made exactly as the sr suite makes them (PIL bicubic)."""
    import numpy as np

    from ..evaluate.sr import downscale

    return np.stack([downscale(np.ascontiguousarray(p), scale) for p in hr])


def upscale_batch(lr: Any, scale: int = 4) -> Any:
    """Bicubic upscales (PIL) of LR uint8 NHWC patches: the SR baseline and the SR model's condition."""
    import numpy as np

    from ..evaluate.sr import bicubic_upscale

    return np.stack([bicubic_upscale(p, scale) for p in lr])


def sr_pairs(split: str = "train", size: int = 64, count: int = 256, scale: int = 4, seed: int = 0) -> tuple[Any, Any]:
    """``(lr, hr)``: HR patches of ``size`` pixels and their x``scale`` bicubic downscales (uint8 NHWC)."""
    if scale not in (2, 3, 4, 8):
        raise ZooError(f"scale must be 2, 3, 4 or 8, got {scale!r}")
    _check_size(size, scale * 2, "HR patch size")
    hr = patches(split, size, count, seed)
    return downscale_batch(hr, scale), hr


def to_tensor(images: Any) -> Any:
    """uint8 NHWC (array or list of PIL) -> float32 NCHW tensor in [-1, 1]."""
    import numpy as np
    import torch

    arr = np.stack([np.asarray(im) for im in images]) if isinstance(images, (list, tuple)) else np.asarray(images)
    if arr.ndim != 4 or arr.shape[-1] != 3 or arr.dtype != np.uint8:
        raise ZooError(f"expected uint8 RGB images shaped (N, H, W, 3), got {arr.dtype} {arr.shape}")
    return torch.from_numpy(arr.copy()).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def to_uint8(x: Any) -> Any:
    """float NCHW tensor in [-1, 1] -> uint8 NHWC array (rounded, clipped)."""
    return ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()


def check_rgb(image: Any, what: str = "image", size: Optional[int] = None, multiple: int = 1) -> Any:
    """A PIL image or HxWx3 uint8 array as an RGB uint8 array, or a one-line ZooError saying what is wrong."""
    import numpy as np

    if hasattr(image, "mode"):
        if image.mode != "RGB":
            raise ZooError(f"{what} must be an RGB image, got mode {image.mode!r}: use image.convert('RGB')")
        image = np.asarray(image)
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[-1] != 3 or arr.dtype != np.uint8:
        raise ZooError(f"{what} must be an RGB image (PIL or HxWx3 uint8), got {arr.dtype} array {arr.shape}")
    h, w = arr.shape[:2]
    if size is not None and (h, w) != (size, size):
        raise ZooError(f"{what} must be {size}x{size} pixels, got {w}x{h}")
    if h < 8 or w < 8 or h % multiple or w % multiple:
        raise ZooError(f"{what} must be at least 8x8 pixels with sides a multiple of {multiple}, got {w}x{h}")
    return arr
