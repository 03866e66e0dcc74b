"""Tiled inference: apply an image-to-image function to overlapping tiles and blend them.

Each tile carries ``overlap`` pixels of context from its neighbours; in the output, tiles are
blended with feathered weights (linear ramps across the shared band, whose outer quarter is
context only), so seams vanish and peak memory is that of one tile whatever the image size.
Works in pixel or latent space: ``scale`` is the output/input size ratio (4 for a x4 upscaler,
8 for a VAE decoder, 1/8 for an encoder).

Blending is a running weighted mean, ``out += (y - out) * w / (W + w)``: where overlapping
tiles agree exactly the output equals them exactly (no rounding from w*y/sum(w)).

Context-preserving tiling (``context_tiled``, MobilePicasso's adaptive tiling): the image is cut
into disjoint core tiles (0% overlap); each is run padded with ``context`` pixels of real
neighbour content (clamped at the image border) and only its core is kept. For a model whose
receptive field reaches no further than ``context`` the stitched output equals the untiled one,
so there is nothing to blend and no seam. ``tile_for_budget`` picks the core size whose padded
tile fits a memory budget, so peak memory is set by the budget, not by the image.
``context_windows`` gives the same tiles as boxes, for a pipeline that makes each tile's input itself
(MobilePicasso resizes its latent per window); ``ImageSink`` is an output preallocated in its final
form (uint8 for PIL) that tiles are written into, so no whole-image float copy is ever made.
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Callable, Union

from .errors import ZooError

Size = Union[int, tuple[int, int]]


def _pair(v: Size) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, (int, float)) else (int(v[0]), int(v[1]))


def _checked_scale(x: Any, scale: float, who: str) -> Fraction:
    """``scale`` as a fraction (input offsets must map to whole output pixels), after checking ``x`` is BCHW."""
    if x.dim() != 4:
        raise ZooError(f"{who}() takes a BCHW tensor, got shape {tuple(x.shape)}")
    s = Fraction(scale).limit_denominator(64)
    if s <= 0:
        raise ZooError(f"scale must be positive, got {scale}")
    return s


def _bar(n: int, progress: bool) -> Any:
    if not progress or n <= 1:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=n, desc="tiles", unit="tile", leave=False)


def tile_starts(length: int, tile: int, overlap: int, align: int = 1) -> list[int]:
    """Start offsets of tiles of size ``tile`` covering ``length`` with at least ``overlap`` shared."""
    if tile >= length:
        return [0]
    stride = tile - overlap
    if stride <= 0:
        raise ZooError(f"tile overlap {overlap} must be smaller than the tile size {tile}")
    stride = max(align, stride // align * align)
    starts = list(range(0, length - tile, stride))
    last = (length - tile) // align * align
    if not starts or starts[-1] != last:
        starts.append(last)
    if last + tile < length:
        raise ZooError(f"size {length} cannot be covered by {tile}-pixel tiles on a {align}-pixel grid")
    return starts


def _ramp(band: int) -> Any:
    """Weights across a band shared with a neighbour, from the far edge inwards: the outer quarter
    is context only (weight 0: a conv's zero padding at the tile edge never reaches the output),
    then a linear rise, then full weight. The neighbour's mirrored ramp covers what this one drops."""
    import torch

    m = band // 4
    rise = band - 2 * m
    return torch.cat([torch.zeros(m), (torch.arange(rise) + 0.5) / rise, torch.ones(m)])


def feather(length: int, band_before: int, band_after: int) -> Any:
    """1-D blend weights of a tile sharing ``band_before``/``band_after`` pixels with its neighbours."""
    import torch

    w = torch.ones(length)
    if band_before > 0:
        w[:band_before] = torch.minimum(w[:band_before], _ramp(band_before))
    if band_after > 0:
        w[length - band_after:] = torch.minimum(w[length - band_after:], _ramp(band_after).flip(0))
    return w


def tiled(fn: Callable[[Any], Any], x: Any, tile: Size = 128, overlap: Size = 32, scale: float = 1,
          progress: bool = False) -> Any:
    """``fn`` applied to overlapping tiles of the BCHW tensor ``x``, blended into one output.

    ``fn`` maps a (B, C, th, tw) tile to (B, C', th*scale, tw*scale). An image no larger than one
    tile is passed to ``fn`` whole.
    """
    import torch

    s = _checked_scale(x, scale, "tiled")
    align = s.denominator  # input offsets must map to whole output pixels
    H, W = x.shape[-2:]
    th, tw = min(_pair(tile)[0], H), min(_pair(tile)[1], W)
    oh, ow = _pair(overlap)
    if th % align or tw % align:
        raise ZooError(f"tile size {th}x{tw} must be a multiple of {align} for scale {scale}")
    ys, xs = tile_starts(H, th, oh, align), tile_starts(W, tw, ow, align)
    out = weight = None
    cells = [(y, x0) for y in ys for x0 in xs]
    bar = _bar(len(cells), progress)
    Ho, Wo = int(H * s), int(W * s)
    tho, two = int(th * s), int(tw * s)
    for i, (y0, x0) in enumerate(cells):
        y = fn(x[..., y0:y0 + th, x0:x0 + tw])
        if y.shape[-2:] != (tho, two):
            raise ZooError(f"the tiled function returned {tuple(y.shape[-2:])} for a {th}x{tw} tile; expected {tho}x{two} (scale {scale})")
        if out is None:
            out = torch.zeros(*y.shape[:-2], Ho, Wo, dtype=y.dtype, device=y.device)
            weight = torch.zeros(Ho, Wo, dtype=torch.float32, device=y.device)
        yi, xi = ys.index(y0), xs.index(x0)
        # Ramp only across bands shared with a neighbour; image borders keep full weight.
        rb_y = 0 if yi == 0 else math.ceil((ys[yi - 1] + th - y0) * s)
        ra_y = 0 if yi == len(ys) - 1 else math.ceil((y0 + th - ys[yi + 1]) * s)
        rb_x = 0 if xi == 0 else math.ceil((xs[xi - 1] + tw - x0) * s)
        ra_x = 0 if xi == len(xs) - 1 else math.ceil((x0 + tw - xs[xi + 1]) * s)
        w = torch.outer(feather(tho, min(rb_y, tho), min(ra_y, tho)), feather(two, min(rb_x, two), min(ra_x, two))).to(y.device)
        oy, ox = int(y0 * s), int(x0 * s)
        region = out[..., oy:oy + tho, ox:ox + two]
        wregion = weight[oy:oy + tho, ox:ox + two]
        total = wregion + w
        # Pixels no tile has weighted yet keep 0 until one does (0/0 would give NaN).
        alpha = torch.where(total > 0, w / total.clamp_min(1e-12), torch.zeros_like(w)).to(y.dtype)
        region += (y - region) * alpha
        wregion += w
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    if not bool((weight > 0).all()):
        raise ZooError(f"tiles of {th}x{tw} with overlap {oh}x{ow} leave pixels uncovered in a {H}x{W} input: use a smaller overlap")
    return out


def tile_for_budget(budget_mb: float, mb_per_pixel: float, context: int = 0, align: int = 8, minimum: int = 0,
                    maximum: int = 4096) -> int:
    """The largest core tile side (a multiple of ``align``) whose padded tile ``(t + 2*context)^2``
    costs at most ``budget_mb`` at ``mb_per_pixel`` (peak MB per input pixel, measured for the model)."""
    if budget_mb <= 0 or mb_per_pixel <= 0:
        raise ZooError(f"memory budget and per-pixel cost must be positive, got {budget_mb} MB and {mb_per_pixel} MB/pixel")
    side = int(math.sqrt(budget_mb / mb_per_pixel)) - 2 * context
    t = min(maximum, side) // align * align
    if t < max(align, minimum):
        need = (max(align, minimum) + 2 * context) ** 2 * mb_per_pixel
        raise ZooError(f"a {budget_mb:g} MB budget cannot hold one tile with {context} pixels of context "
                       f"(needs about {need:.0f} MB): raise the budget")
    return t


def context_windows(height: int, width: int, tile: Size = 128, context: Size = 16, grid: int = 1) -> list[tuple]:
    """The tiles of context-preserving tiling of a ``height`` x ``width`` image, as ``(window, core)`` boxes
    ``(y0, y1, x0, x1)`` in image pixels: ``window`` is the padded tile a model runs on, ``core`` the disjoint
    part of the image it contributes (inside ``window``). Cores tile the image with 0% overlap; every window
    has one size (core + 2 x context, capped by the image): a tile at the image border takes the context it
    lacks outside the image from further inside, so per-tile work and memory do not depend on where the tile
    sits or how large the image is (and a compiled model sees one shape). Everything is on a ``grid``-pixel
    grid (``height`` and ``width`` must be multiples of it); the last core in a row may be smaller. An image
    no larger than one tile is one window, the whole image."""
    H, W, g = int(height), int(width), int(grid)
    if H % g or W % g:
        raise ZooError(f"image size {H}x{W} must be a multiple of {g} for tiles on a {g}-pixel grid")
    th, tw = (max(g, min(v, n) // g * g) for v, n in zip(_pair(tile), (H, W)))
    ch, cw = (-(-int(c) // g) * g for c in _pair(context))
    if th >= H and tw >= W:
        return [((0, H, 0, W), (0, H, 0, W))]
    wh, ww = min(H, th + 2 * ch), min(W, tw + 2 * cw)
    boxes = []
    for y0 in range(0, H, th):
        for x0 in range(0, W, tw):
            py0, px0 = max(0, min(y0 - ch, H - wh)), max(0, min(x0 - cw, W - ww))
            boxes.append(((py0, py0 + wh, px0, px0 + ww), (y0, min(y0 + th, H), x0, min(x0 + tw, W))))
    return boxes


def context_tiled(fn: Callable[[Any], Any], x: Any, tile: Size = 128, context: Size = 16, scale: float = 1,
                  align: int = 1, progress: bool = False) -> Any:
    """``fn`` applied to disjoint ``tile``-sized cores of the BCHW tensor ``x``, each padded with up to
    ``context`` pixels of its neighbours; the output keeps each core's part (0% overlap, no blending).
    Every tile passed to ``fn`` has the same size (``context_windows``): each core has at least ``context``
    pixels of real content on every side that is not the image border.

    Each tile's result is written straight into one preallocated output and dropped before the next
    tile runs, so beyond the output only one tile's buffers are alive at a time.

    ``fn`` maps a (B, C, h, w) tile to (B, C', h*scale, w*scale); ``align`` is a size every tile side
    passed to ``fn`` must be a multiple of (e.g. 2 for an LR tile of a x4 latent upscaler). Cores and
    context are kept on that grid; the last core in a row may be smaller. An image no larger than one
    tile is passed to ``fn`` whole.
    """
    import torch

    s = _checked_scale(x, scale, "context_tiled")
    H, W = x.shape[-2:]
    boxes = context_windows(H, W, tile, context, grid=math.lcm(int(align), s.denominator))
    if len(boxes) == 1:
        return fn(x)
    bar = _bar(len(boxes), progress)
    out = None
    for (py0, py1, px0, px1), (y0, y1, x0, x1) in boxes:
        y = fn(x[..., py0:py1, px0:px1])
        exp = (int((py1 - py0) * s), int((px1 - px0) * s))
        if tuple(y.shape[-2:]) != exp:
            raise ZooError(f"the tiled function returned {tuple(y.shape[-2:])} for a {py1 - py0}x{px1 - px0} tile; "
                           f"expected {exp[0]}x{exp[1]} (scale {scale})")
        if out is None:
            out = torch.empty(*y.shape[:-2], int(H * s), int(W * s), dtype=y.dtype, device=y.device)
        oy, ox = int((y0 - py0) * s), int((x0 - px0) * s)
        hh, ww = int((y1 - y0) * s), int((x1 - x0) * s)
        out[..., int(y0 * s):int(y0 * s) + hh, int(x0 * s):int(x0 * s) + ww] = y[..., oy:oy + hh, ox:ox + ww]
        # drop this tile's result now: otherwise it lives on beside the next tile's working set
        del y
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return out


class ImageSink:
    """The output image of a tiled pipeline, preallocated in its final form and filled tile by tile, so
    no whole-image float intermediate exists: ``"pt"`` float32 (B, 3, H, W) in [0, 1], ``"np"`` float32
    (B, H, W, 3) in [0, 1], ``"pil"`` B RGB images (each tile converted to uint8 and pasted). ``write``
    takes a tile in [-1, 1] (B, 3, h, w) at ``(top, left)``; parts beyond the image are cut off.
    Converts as ``images_in_place`` does (same rounding), so tiled and whole-image results agree."""

    def __init__(self, output_type: str, batch: int, height: int, width: int) -> None:
        import numpy as np
        import torch

        self.output_type, self.height, self.width = output_type, int(height), int(width)
        if output_type == "pt":
            self.out: Any = torch.empty(batch, 3, self.height, self.width)
        elif output_type == "np":
            self.out = np.empty((batch, self.height, self.width, 3), dtype=np.float32)
        elif output_type == "pil":
            from PIL import Image

            self.out = [Image.new("RGB", (self.width, self.height)) for _ in range(batch)]
        else:
            raise ZooError(f"output_type must be 'pil', 'np' or 'pt', got {output_type!r}")

    def write(self, tile: Any, top: int, left: int) -> None:
        h, w = min(tile.shape[-2], self.height - top), min(tile.shape[-1], self.width - left)
        if h <= 0 or w <= 0:
            return
        t = tile[..., :h, :w]
        if self.output_type == "pt":
            self.out[..., top:top + h, left:left + w] = t.add(1).div_(2)
        elif self.output_type == "np":
            self.out[:, top:top + h, left:left + w] = t.add(1).div_(2).permute(0, 2, 3, 1).numpy()
        else:
            import torch
            from PIL import Image

            arr = t.add(1).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()
            for im, a in zip(self.out, arr):
                im.paste(Image.fromarray(a), (left, top))

    def result(self) -> Any:
        return self.out


def images_in_place(out: Any, output_type: str = "pil") -> Any:
    """A tiled pipeline's [-1, 1] output as diffusers returns images ("pt", "np" in [0, 1], or PIL),
    converted in place: at 4K the output is the largest buffer of the call, so no full-size copies."""
    import torch

    if output_type == "pt":
        return out.add_(1).div_(2)
    if output_type == "np":
        return out.add_(1).div_(2).permute(0, 2, 3, 1).numpy()
    from PIL import Image

    arr = out.add_(1).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    del out
    return [Image.fromarray(a) for a in arr]
