"""Windows of a bicubic resize, without the resized image: MobilePicasso's tiles each need only their own
part of the edited latent on the upscaler's grid (and of a skip upscaler's bicubic term), so neither is
ever made at the output's size.

``bicubic_rows`` gives rows of the matrix of torch's bicubic resize (``F.interpolate(mode="bicubic",
align_corners=False)``, no antialias: Keys' cubic with A = -0.75, edge pixels repeated), computed
directly for the rows asked for; ``resize_window`` applies two of them (the resize is separable).
"""
from __future__ import annotations

from typing import Any

A = -0.75  # torch's (and OpenCV's) bicubic coefficient


def bicubic_rows(n: int, m: int, start: int = 0, stop: Any = None) -> Any:
    """Rows ``start:stop`` of the (m, n) matrix resizing a length-``n`` axis to length ``m`` as torch's bicubic
    does: output pixel j samples the input at (j + 0.5) * n / m - 0.5 with four cubic weights, indices
    clamped to the border."""
    import torch

    stop = m if stop is None else stop
    real = (torch.arange(start, stop, dtype=torch.float64) + 0.5) * (n / m) - 0.5
    first = torch.floor(real)
    t = real - first

    def near(x: Any) -> Any:  # |x| <= 1
        return ((A + 2) * x - (A + 3)) * x * x + 1

    def far(x: Any) -> Any:  # 1 < |x| < 2
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A

    weights = torch.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], dim=1)
    index = (first.long()[:, None] + torch.arange(-1, 3)).clamp_(0, n - 1)
    return torch.zeros(stop - start, n, dtype=torch.float64).scatter_add_(1, index, weights).float()


def resize_window(x: Any, size: tuple, box: tuple) -> Any:
    """``F.interpolate(x, size, mode="bicubic", align_corners=False)[..., y0:y1, x0:x1]`` for ``box`` =
    (y0, y1, x0, x1), computed from ``x`` (BCHW, float) without the resized whole."""
    import torch

    (h, w), (y0, y1, x0, x1) = x.shape[-2:], box
    rows, cols = bicubic_rows(h, int(size[0]), y0, y1), bicubic_rows(w, int(size[1]), x0, x1)
    return torch.einsum("rh,bchw,sw->bcrs", rows.to(x), x, cols.to(x))
