"""Working memory of TOC-SR's tiled x4 inference as the image grows (zoo.tiling.context_tiled):
512^2, 1024^2 and 2048^2 outputs at one tile size (from a memory budget), beside untiled runs.

How it is measured (RSS, because torch's CPU tensors come from malloc: tracemalloc does not see them
and torch keeps no CPU allocator statistics):
* every (size, mode, repeat) runs in a fresh process, so no earlier call's heap shapes the next;
* glibc is pinned: ``MALLOC_MMAP_THRESHOLD_=65536`` (fixed, which also turns off glibc's dynamic
  threshold: every buffer over 64 KiB is its own mapping, returned to the OS when freed, so RSS
  follows live memory instead of heap fragmentation), ``MALLOC_TRIM_THRESHOLD_=131072``,
  ``MALLOC_ARENA_MAX=1``; ``OMP_NUM_THREADS=1`` (a fixed number of per-thread scratch buffers);
* every tile passed to the model has one shape (zoo.tiling.context_tiled takes a border tile's missing
  context from the inside), so per-tile work does not depend on the image size;
* in that process: one warm-up call (lazy inits off the books), then the peak RSS rise of
  ``--calls`` calls returning a tensor (``output_type="pt"``; a PIL result adds a uint8 copy after
  the tiles are done), median; the median over ``--repeats`` processes is reported;
* working memory = peak rise - the image buffers any method must hold: the float32 x4 output and the
  float32 LR input (computed from their shapes).
The claim checked: tiled working memory stays flat (within 10%) while untiled grows with the image.

    nice -n 15 .venv/bin/python benchmarks/tocsr_tiling.py [--model tocsr-x4-tiny] [--budget-mb 64] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "131072", "MALLOC_ARENA_MAX": "1",
              "OMP_NUM_THREADS": "1"}


def _lr(side: int):
    """A random LR image for an x4 output of ``side`` pixels (content does not change the memory)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(side)
    return Image.fromarray(rng.integers(0, 256, (side // 4, side // 4, 3), dtype=np.uint8))


def child(a) -> dict:
    """In this fresh process: per-LR-pixel cost (``--_probe``) or one (size, tile) measurement."""
    import torch

    import zoo
    from zoo.evaluate.latency import peak_memory_mb

    torch.set_grad_enabled(False)
    pipe = zoo.load(a.model, pretrained=False)  # random weights: memory does not depend on their values
    pipe.set_progress_bar_config(disable=True)
    pipe(_lr(128), tile=32, context=a.context, output_type="pt")  # warm-up: lazy inits off the books
    if a._probe:
        # the model's cost per LR pixel: one untiled 64x64 LR call, less its image buffers
        peak = statistics.median(peak_memory_mb(lambda: pipe(_lr(256), tile=64, context=0, output_type="pt"))
                                 for _ in range(a.calls))
        return {"mb_per_lr_pixel": (peak - image_mb(256)) / (64 * 64)}
    side, tile = a._measure, a._tile
    lr = _lr(side)
    peak = statistics.median(peak_memory_mb(lambda: pipe(lr, tile=tile, context=a.context, output_type="pt"))
                             for _ in range(a.calls))
    return {"peak_mb": peak}


def image_mb(side: int) -> float:
    """float32 x4 output (3 x side^2) + float32 LR input (3 x (side/4)^2), in MiB."""
    return 4 * 3 * (side * side + (side // 4) ** 2) / 2**20


def fresh(a, *extra: str) -> dict:
    env = {**os.environ, **MALLOC_ENV}
    cmd = [sys.executable, __file__, "--model", a.model, "--context", str(a.context), "--calls", str(a.calls), *extra]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"measurement {' '.join(extra)} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="tocsr-x4-tiny")
    ap.add_argument("--budget-mb", type=float, default=64.0, help="memory budget the tile size is chosen from")
    ap.add_argument("--context", type=int, default=16)
    ap.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048], help="output sides")
    ap.add_argument("--untiled-max", type=int, default=1024, help="largest output side also run untiled")
    ap.add_argument("--repeats", type=int, default=3, help="fresh processes per measurement (median)")
    ap.add_argument("--calls", type=int, default=2, help="measured calls per process (median)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--_probe", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--_measure", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--_tile", type=int, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a._probe or a._measure is not None:
        print(json.dumps(child(a)))
        return

    from tqdm.auto import tqdm

    from zoo.tiling import tile_for_budget

    per_px = statistics.median(fresh(a, "--_probe")["mb_per_lr_pixel"] for _ in range(a.repeats))
    tile = tile_for_budget(a.budget_mb, per_px, context=a.context, align=2)
    jobs = [(side, mode) for side in a.sizes for mode in ("tiled", "untiled") if mode == "tiled" or side <= a.untiled_max]
    rows = []
    for side, mode in tqdm(jobs, desc="sizes", unit="size"):
        t = tile if mode == "tiled" else side  # untiled: one tile covering the whole image
        peaks = [fresh(a, "--_measure", str(side), "--_tile", str(t))["peak_mb"] for _ in range(a.repeats)]
        peak = statistics.median(peaks)
        rows.append({"output": side, "mode": mode, "tile_lr": t, "peak_mb": peak, "peaks_mb": peaks,
                     "image_mb": image_mb(side), "working_mb": peak - image_mb(side)})
    print(f"{a.model}: {per_px * 1024:.1f} KB per LR pixel (measured); LR tile {tile} px (+{a.context} px context) "
          f"from a {a.budget_mb:g} MB budget")
    print(f"peak RSS rise per call, median of {a.repeats} fresh processes x {a.calls} calls; malloc pinned: "
          + " ".join(f"{k}={v}" for k, v in MALLOC_ENV.items()))
    print(f"{'output':>8s} {'mode':>8s} {'peak MB':>8s} {'image MB':>9s} {'working MB':>11s}  runs (peak MB)")
    for r in rows:
        runs = " ".join(f"{p:.1f}" for p in r["peaks_mb"])
        print(f"{r['output']:>6d}^2 {r['mode']:>8s} {r['peak_mb']:8.1f} {r['image_mb']:9.1f} {r['working_mb']:11.1f}  {runs}")
    tiled = [r["working_mb"] for r in rows if r["mode"] == "tiled"]
    spread = (max(tiled) - min(tiled)) / min(tiled)
    print(f"tiled working memory spread over {a.sizes[0]}^2..{a.sizes[-1]}^2: {100 * spread:.1f}% of the smallest "
          f"({'flat within 10%' if spread <= 0.10 else 'NOT flat within 10%'})")
    if a.json:
        from zoo.atomic import write_text

        write_text(a.json, json.dumps({"mb_per_lr_pixel": per_px, "tile_lr": tile, "malloc_env": MALLOC_ENV,
                                       "rows": rows, "tiled_spread": spread}, indent=1))


if __name__ == "__main__":
    main()
