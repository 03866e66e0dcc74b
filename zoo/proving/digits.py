"""The *digits* task: scikit-learn's 8x8 handwritten digits (shipped in the package, no
download), bilinearly upsampled to 32x32 RGB in [-1, 1], with class labels and prompts of
exactly the form ``"a handwritten digit 7"``; a fixed, seeded train / held-out split.

    from zoo.proving import digits_split, prompt_for, label_of
    train = digits_split("train")      # DigitsSplit(images [N,3,32,32] float32 in [-1,1], labels [N] int64)
    label_of("a handwritten digit 7")  # 7; a prompt outside the vocabulary is a ZooError
"""
from __future__ import annotations

import functools
from typing import NamedTuple

from ..errors import ZooError

SIZE = 32
CHANNELS = 3
NUM_CLASSES = 10
PROMPT_TEMPLATE = "a handwritten digit {}"
PROMPTS = tuple(PROMPT_TEMPLATE.format(i) for i in range(NUM_CLASSES))
# Words of every prompt: what the miniature text encoders' tokenizers know.
VOCABULARY = ("a", "handwritten", "digit", *(str(i) for i in range(NUM_CLASSES)))
SPLIT_SEED = 0
HELD_OUT = 297  # of 1,797 images: 1,500 train, 297 held out (about 30 per class)
SPLITS = ("train", "held_out")


class DigitsSplit(NamedTuple):
    images: "object"  # torch.Tensor [N, 3, 32, 32] float32 in [-1, 1]
    labels: "object"  # torch.Tensor [N] int64
    raw: "object"  # numpy [N, 64] float64, the 8x8 originals (0..16)


def prompt_for(label: int) -> str:
    """The prompt of class ``label`` (0..9)."""
    if not isinstance(label, int) or isinstance(label, bool) or not 0 <= label < NUM_CLASSES:
        raise ZooError(f"digit label {label!r} is outside 0..9")
    return PROMPTS[label]


def label_of(prompt: str) -> int:
    """The class a prompt names; anything but 'a handwritten digit N' (N in 0..9) is an error."""
    p = " ".join(str(prompt).strip().split()).lower()
    try:
        return PROMPTS.index(p)
    except ValueError:
        raise ZooError(f"prompt {prompt!r} is outside the digits vocabulary: use 'a handwritten digit N' with N in 0..9") from None


@functools.lru_cache(maxsize=1)
def _all():
    import numpy as np
    from sklearn.datasets import load_digits

    d = load_digits()
    order = np.random.default_rng(SPLIT_SEED).permutation(len(d.target))
    return d.data[order].astype(np.float64), d.target[order].astype(np.int64)


def upsample(raw8) -> "object":
    """8x8 digits (values 0..16, shape [N, 64]) -> [N, 3, 32, 32] float32 in [-1, 1] (bilinear)."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    x = torch.as_tensor(np.asarray(raw8, dtype=np.float32)).reshape(-1, 1, 8, 8) / 8.0 - 1.0
    x = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    return x.clamp(-1, 1).repeat(1, CHANNELS, 1, 1).contiguous()


@functools.lru_cache(maxsize=2)
def digits_split(split: str = "train") -> DigitsSplit:
    """The fixed split ``'train'`` (1,500 images) or ``'held_out'`` (297), same on every call."""
    import torch

    if split not in SPLITS:
        raise ZooError(f"unknown digits split {split!r}: use one of {', '.join(SPLITS)}")
    raw, y = _all()
    sl = slice(HELD_OUT, None) if split == "train" else slice(0, HELD_OUT)
    return DigitsSplit(upsample(raw[sl]), torch.as_tensor(y[sl]), raw[sl])
