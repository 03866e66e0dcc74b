"""The proving ground: a miniature world in which the zoo's methods show real quality.

Tasks from data that ships in packages, and offline quality metrics:

- digits (``zoo.proving.digits``): scikit-learn's digits upsampled to 32x32 RGB, labels and
  prompts 'a handwritten digit N', a fixed train / held-out split;
- digits metrics (``zoo.proving.digits_metrics``): a classifier trained on the real digits,
  ``prompt_accuracy(images, labels)`` and ``digits_frechet(images)`` (an FID for this world);
- the ``digits`` eval suite (``zoo eval mini-sd --suite digits``).

Names are imported lazily so that ``import zoo.proving`` stays cheap (no torch, no sklearn).
"""
from __future__ import annotations

from ..lazy import lazy_exports

_EXPORTS = {
    # digits task
    "SIZE": "digits", "NUM_CLASSES": "digits", "PROMPTS": "digits", "PROMPT_TEMPLATE": "digits",
    "VOCABULARY": "digits", "DigitsSplit": "digits", "digits_split": "digits", "prompt_for": "digits",
    "label_of": "digits", "upsample": "digits",
    # digits metrics
    "digits_classifier": "digits_metrics", "classify": "digits_metrics", "digit_features": "digits_metrics",
    "prompt_accuracy": "digits_metrics", "digits_frechet": "digits_metrics", "frechet_distance": "digits_metrics",
    "to_digit_array": "digits_metrics",
    # eval suite
    "digits_suite": "suite", "sample_digits": "suite",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS)
