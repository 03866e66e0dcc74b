"""Digits quality metrics, offline: a classifier trained on the real training digits gives
*prompt accuracy* (share of generated images classified as the digit they were asked for) and
features for a Fréchet distance to the held-out real digits (this world's FID).

Images are given as any of (values in [0, 1], 32x32, as diffusers pipelines return them):
- a list of PIL images, mode 'L' or 'RGB';
- a numpy array [N, 32, 32] or [N, 32, 32, C] (``output_type='np'``), C in 1 or 3;
- a torch tensor [N, C, 32, 32] (``output_type='pt'``), C in 1 or 3.
The real digits of ``digits_split`` are in [-1, 1]: pass ``(images + 1) / 2``.

    from zoo.proving import prompt_accuracy, digits_frechet
    out = pipe(["a handwritten digit 7"] * 4, output_type="np").images
    prompt_accuracy(out, [7] * 4)   # 0..1
    digits_frechet(out)             # lower is better; held-out vs train real is the floor
"""
from __future__ import annotations

import functools
from typing import Any, Sequence

from ..errors import ZooError
from .digits import NUM_CLASSES, SIZE, digits_split, label_of

HIDDEN = 64  # width of the classifier's hidden layer: the Fréchet features


def to_digit_array(images: Any) -> Any:
    """Images (see the module doc) -> numpy [N, 32, 32] float64 grey levels in [0, 1]."""
    import numpy as np

    if isinstance(images, (list, tuple)):
        if not images:
            raise ZooError("no images given")
        arrs = []
        for im in images:
            if not hasattr(im, "mode") or not hasattr(im, "size"):
                raise ZooError(f"expected PIL images in the list, got {type(im).__name__}")
            if im.mode not in ("L", "RGB"):
                raise ZooError(f"image mode {im.mode!r} is not supported: give 'L' or 'RGB' digits")
            if im.size != (SIZE, SIZE):
                raise ZooError(f"image size {im.size[0]}x{im.size[1]} is wrong: the digits task is {SIZE}x{SIZE}")
            a = np.asarray(im, dtype=np.float64) / 255.0
            arrs.append(a.mean(axis=-1) if a.ndim == 3 else a)
        return np.stack(arrs)
    if hasattr(images, "detach"):  # torch [N, C, H, W]
        t = images.detach().float().cpu()
        if t.ndim != 4 or t.shape[1] not in (1, 3):
            raise ZooError(f"a tensor of digits must be [N, C, {SIZE}, {SIZE}] with C 1 or 3, got {list(t.shape)}")
        a = t.numpy().astype(np.float64).transpose(0, 2, 3, 1)
    else:
        a = np.asarray(images, dtype=np.float64)
        if a.ndim == 3:
            a = a[..., None]
        if a.ndim != 4 or a.shape[-1] not in (1, 3):
            raise ZooError(f"an array of digits must be [N, {SIZE}, {SIZE}] or [N, {SIZE}, {SIZE}, C] with C 1 or 3, "
                           f"got {list(a.shape)}")
    if a.shape[1:3] != (SIZE, SIZE):
        raise ZooError(f"image size {a.shape[2]}x{a.shape[1]} is wrong: the digits task is {SIZE}x{SIZE}")
    if a.min() < -1e-3 or a.max() > 1 + 1e-3:
        raise ZooError(f"pixel values span [{a.min():.2f}, {a.max():.2f}]: give them in [0, 1] "
                       "(real digits from digits_split are in [-1, 1]: pass (x + 1) / 2)")
    return a.mean(axis=-1)


def _to_8x8(grey32) -> Any:
    """32x32 [0, 1] -> the classifier's input: 4x4 average pools, on load_digits' 0..16 scale."""
    n = grey32.shape[0]
    return grey32.reshape(n, 8, SIZE // 8, 8, SIZE // 8).mean(axis=(2, 4)).reshape(n, 64) * 16.0


def _real_inputs(split: str) -> Any:
    return _to_8x8((digits_split(split).images[:, 0].numpy().astype("float64") + 1.0) / 2.0)


@functools.lru_cache(maxsize=1)
def digits_classifier() -> Any:
    """An MLP (64 -> 64 ReLU -> 10) fit on the training digits as the metrics see them
    (upsampled to 32x32, then pooled back to 8x8); cached in-process, deterministic."""
    from sklearn.neural_network import MLPClassifier

    # L-BFGS: full-batch and deterministic, converges in well under a second on 1,500 digits.
    clf = MLPClassifier(hidden_layer_sizes=(HIDDEN,), alpha=1e-3, solver="lbfgs", max_iter=300, random_state=0)
    clf.fit(_real_inputs("train") / 16.0, digits_split("train").labels.numpy())
    return clf


def digit_features(images: Any) -> Any:
    """The classifier's hidden-layer activations [N, 64] (the Fréchet features)."""
    import numpy as np

    clf = digits_classifier()
    x = _to_8x8(to_digit_array(images)) / 16.0
    return np.maximum(x @ clf.coefs_[0] + clf.intercepts_[0], 0.0)


def classify(images: Any) -> Any:
    """Predicted digit (0..9) of each image."""
    return digits_classifier().predict(_to_8x8(to_digit_array(images)) / 16.0)


def _labels(labels: Sequence[Any], n: int) -> Any:
    import numpy as np

    out = []
    for lab in labels:
        if isinstance(lab, str):
            out.append(label_of(lab))
        else:
            v = int(lab)
            if v != lab or not 0 <= v < NUM_CLASSES:
                raise ZooError(f"digit label {lab!r} is outside 0..9")
            out.append(v)
    if len(out) != n:
        raise ZooError(f"{n} images but {len(out)} labels")
    return np.asarray(out)


def prompt_accuracy(images: Any, labels: Sequence[Any]) -> float:
    """Share of ``images`` the classifier reads as their label (ints 0..9 or the prompts themselves)."""
    pred = classify(images)
    return float((pred == _labels(list(labels), len(pred))).mean())


def frechet_distance(feats_a: Any, feats_b: Any) -> float:
    """Fréchet distance between Gaussians fit to two feature sets (rows are samples)."""
    import numpy as np

    if len(feats_a) < 2 or len(feats_b) < 2:
        raise ZooError("the Fréchet distance needs at least two images on each side")
    mu_a, mu_b = feats_a.mean(0), feats_b.mean(0)
    ca, cb = np.cov(feats_a, rowvar=False), np.cov(feats_b, rowvar=False)
    # tr sqrt(ca cb) = sum of sqrt eigenvalues of the symmetric PSD sqrt(ca) cb sqrt(ca): stable
    # when few samples leave the covariances singular (where sqrtm(ca @ cb) warns and goes complex).
    w, v = np.linalg.eigh(ca)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    tr_covmean = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cb @ root_a), 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(ca) + np.trace(cb) - 2.0 * tr_covmean)


def digits_frechet(images: Any, reference: str = "held_out") -> float:
    """Fréchet distance between ``images`` and the real digits of ``reference`` ('held_out' or 'train')."""
    feats = digit_features(images)
    ref = digit_features((digits_split(reference).images + 1.0) / 2.0)
    return frechet_distance(feats, ref)
