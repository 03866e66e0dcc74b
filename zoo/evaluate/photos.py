"""Real photographs that ship inside installed packages, so quality evals run offline.

scikit-image's ``skimage.data`` (astronaut, chelsea, coffee, rocket, ...), scikit-learn's
``load_sample_images`` (china, flower) and matplotlib's sample ``grace_hopper.jpg``.
"""
from __future__ import annotations

from typing import Any, Iterable, Optional

from ..errors import ZooError

# name -> (package, item)
SOURCES: dict[str, tuple[str, str]] = {
    "astronaut": ("skimage", "astronaut"),
    "chelsea": ("skimage", "chelsea"),
    "coffee": ("skimage", "coffee"),
    "rocket": ("skimage", "rocket"),
    "hubble_deep_field": ("skimage", "hubble_deep_field"),
    "retina": ("skimage", "retina"),
    "immunohistochemistry": ("skimage", "immunohistochemistry"),
    "china": ("sklearn", "china.jpg"),
    "flower": ("sklearn", "flower.jpg"),
    "grace_hopper": ("matplotlib", "grace_hopper.jpg"),
}
# The default SR test set: natural photos of 300-640 px sides (retina etc. are kept for tiling runs).
DEFAULT = ["astronaut", "chelsea", "coffee", "rocket", "china", "flower", "grace_hopper"]
DATASET_NAME = "zoo-photos"


def load_photo(name: str) -> Any:
    """An HxWx3 uint8 RGB array."""
    import numpy as np

    if name not in SOURCES:
        raise ZooError(f"unknown photo {name!r}; available: {', '.join(SOURCES)}")
    pkg, item = SOURCES[name]
    try:
        if pkg == "skimage":
            import skimage.data

            img = getattr(skimage.data, item)()
        elif pkg == "sklearn":
            from sklearn.datasets import load_sample_image

            img = load_sample_image(item)
        else:
            import matplotlib.cbook as cbook
            from PIL import Image

            with cbook.get_sample_data(item) as f:
                img = np.asarray(Image.open(f).convert("RGB"))
    except ImportError as exc:
        raise ZooError(f"photo {name!r} comes with {pkg}: pip install 'ondevice-diffusion-zoo[eval]' ({exc})") from exc
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.stack([img] * 3, -1)
    return np.ascontiguousarray(img[..., :3]).astype(np.uint8)


def load_photos(names: Optional[Iterable[str]] = None) -> dict[str, Any]:
    return {n: load_photo(n) for n in (list(names) if names else DEFAULT)}
