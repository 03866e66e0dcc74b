"""MobilePicasso: peak memory as the output grows (1024^2 -> 4096^2) and latency vs naive full-resolution editing.

What is counted. The output image itself grows with the output (4096^2 RGB: 48 MB of pixels; a PIL
image stores RGB in 4 bytes a pixel, 64 MB) and any method must hold it. The paper's flat-memory claim
is about the working memory beside it, so per output side this prints the peak RSS rise of one
pipeline call (edit, latent projection, one-step x4 SR tile by tile at one tile side), that of the
output alone (the same output object, allocated and filled: ``zoo.tiling.ImageSink``), and working =
peak - output. The claim checked: working memory flat within 10% from the smallest to the largest side.
The pipeline writes each tile into that output in its final form (uint8 for PIL), so beyond it only the
edit stage (at the edit size) and one tile's buffers exist (tests/test_mobilepicasso.py checks that the
tensors stages 2-3 make have the same shapes at any output size). The edit stage's own peak is printed
too (``edit``), so a reader sees which stage sets the peak.

How (RSS, because torch's CPU tensors come from malloc: tracemalloc does not see them):
* every (allocator, side, process) is a fresh process (``--procs`` per side), so no size inherits
  another's heap; in it one warm-up call on 3x3 tiles (every tile shape has run: lazy inits and
  per-shape caches are off the books), then ``--calls`` measured calls (median); per side the median
  over processes is reported with the range over processes; OMP_NUM_THREADS=1 (fixed scratch buffers);
* each allocator setting is printed and run: glibc's default (a dynamic mmap threshold: once a large
  block is freed, blocks up to 32 MB come from the heap, where freed per-tile buffers can fragment
  it) and pinned (``MALLOC_MMAP_THRESHOLD_=65536``, which also turns the dynamic threshold off: every
  buffer over 64 KiB is its own mapping, returned when freed, so RSS follows live memory;
  ``MALLOC_TRIM_THRESHOLD_=131072``, ``MALLOC_ARENA_MAX=1``), the setting of benchmarks/tocsr_tiling.py.

Latency: the same editor run naively at the full output resolution (InstructPix2Pix on the whole
image, decode with its VAE) vs the MobilePicasso pipeline, same steps, interleaved A B A B; the
ratio of medians is printed (the paper: up to 55.8x on a phone, at 4K with SD1.5-size models).

    nice -n 10 .venv/bin/python benchmarks/mobilepicasso_memory.py [--model mobilepicasso-tiny] [--budget-mb 64]
        [--procs 3] [--calls 1] [--output-type pil] [--allocators default pinned] [--naive-sizes 512]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

ALLOCATORS = {
    "default": {},  # glibc's defaults (dynamic mmap threshold)
    "pinned": {"MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "131072", "MALLOC_ARENA_MAX": "1"},
}
MALLOC_VARS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_ARENA_MAX", "MALLOC_TOP_PAD_")


def _pipe(model: str):
    import torch

    import zoo

    torch.set_grad_enabled(False)
    torch.manual_seed(0)
    pipe = zoo.load(model, pretrained=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _photo(side: int):
    import numpy as np
    from PIL import Image

    return Image.fromarray(np.random.default_rng(side).integers(0, 256, (side, side, 3), dtype=np.uint8))


def _kw(steps: int) -> dict:
    import torch

    return dict(num_inference_steps=steps, generator=torch.Generator().manual_seed(0))


def _output_alone(output_type: str, side: int):
    """The call's output object alone, allocated and every pixel written (as the tiles write it)."""
    from zoo.tiling import ImageSink

    sink = ImageSink(output_type, 1, side, side)
    out = sink.result()
    if output_type != "pil":  # empty() is not touched yet; Image.new() fills its pixels already
        out.fill(0) if output_type == "np" else out.fill_(0)
    return out


def measure_one(model: str, side: int, tile: int, steps: int, calls: int, output_type: str) -> dict:
    """In this (fresh) process: peak RSS rise of a call at output ``side``, of its output alone and of the
    edit stage alone (medians of ``calls``)."""
    from zoo.evaluate.latency import peak_memory_mb

    pipe = _pipe(model)
    img = _photo(int(pipe.config.edit_size))
    # warm-up on 3x3 tiles, so every tile shape (corner, edge, interior) has run before: lazy inits and
    # per-shape kernel caches are off the books at every size alike
    pipe("make it red", img, output_size=3 * tile * pipe.sr_grid(), tile=tile, output_type=output_type, **_kw(steps))

    def med(fn) -> float:
        return statistics.median(peak_memory_mb(fn) for _ in range(calls))

    out_mb = med(lambda: _output_alone(output_type, side))
    edit_mb = med(lambda: pipe.edit_latent("make it red", img, side, **_kw(steps)))
    peak = med(lambda: pipe("make it red", img, output_size=side, tile=tile, output_type=output_type, **_kw(steps)))
    return {"output": side, "tile": tile, "peak_mb": peak, "output_mb": out_mb, "working_mb": peak - out_mb,
            "edit_mb": edit_mb}


def in_fresh_process(a, side: int, tile: int, allocator: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in MALLOC_VARS}
    env.update(ALLOCATORS[allocator], OMP_NUM_THREADS="1")
    cmd = [sys.executable, __file__, "--model", a.model, "--steps", str(a.steps), "--calls", str(a.calls),
           "--output-type", a.output_type, "--_measure", str(side), "--_tile", str(tile)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"measurement at {side}^2 failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def memory_rows(a, tile: int, allocator: str) -> tuple[list, float]:
    """Per side: medians over ``a.procs`` fresh processes (and their ranges); the spread of working memory."""
    from tqdm.auto import tqdm

    runs = {side: [] for side in a.sizes}
    jobs = [(p, side) for p in range(a.procs) for side in a.sizes]  # sizes interleaved across the repeats
    for _, side in tqdm(jobs, desc=f"fresh processes ({allocator})", unit="proc", leave=False):
        runs[side].append(in_fresh_process(a, side, tile, allocator))
    rows = []
    for side, rs in runs.items():
        row = {k: statistics.median(r[k] for r in rs) for k in ("peak_mb", "output_mb", "working_mb", "edit_mb")}
        work = [r["working_mb"] for r in rs]
        rows.append({"output": side, **row, "working_min_mb": min(work), "working_max_mb": max(work), "runs": rs})
    work = [r["working_mb"] for r in rows]
    return rows, (max(work) - min(work)) / min(work)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mobilepicasso-tiny")
    ap.add_argument("--budget-mb", type=float, default=64.0, help="memory budget the tile size is chosen from")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096], help="output sides")
    ap.add_argument("--steps", type=int, default=4, help="editing steps (both methods)")
    ap.add_argument("--naive-sizes", type=int, nargs="*", default=[512], help="output sides timed naively too "
                    "(the naive edit's attention grows with the square of the pixels: 1024^2 takes minutes here)")
    ap.add_argument("--procs", type=int, default=3, help="fresh processes per side and allocator (median, range)")
    ap.add_argument("--calls", type=int, default=1, help="measured calls per process (median)")
    ap.add_argument("--output-type", default="pil", choices=["pil", "np", "pt"], help="the call's output (its "
                    "buffer is counted apart from the working memory)")
    ap.add_argument("--allocators", nargs="+", default=list(ALLOCATORS), choices=list(ALLOCATORS))
    ap.add_argument("--repeats", type=int, default=3, help="interleaved latency repeats")
    ap.add_argument("--json", default=None)
    ap.add_argument("--_measure", type=int, default=None, help=argparse.SUPPRESS)  # child: one size
    ap.add_argument("--_tile", type=int, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a._measure is not None:
        print(json.dumps(measure_one(a.model, a._measure, a._tile, a.steps, a.calls, a.output_type)))
        return
    if min(a.procs, a.calls, a.repeats) < 1:
        raise SystemExit("--procs, --calls and --repeats must be at least 1")

    import torch
    from diffusers import StableDiffusionInstructPix2PixPipeline

    from zoo.evaluate.latency import peak_memory_mb
    from zoo.tiling import tile_for_budget

    t_wall = time.perf_counter()
    pipe = _pipe(a.model)
    e = int(pipe.config.edit_size)
    pipe("make it red", _photo(e), output_size=2 * e, **_kw(a.steps))  # warm-up: lazy inits off the books
    # the upscaling stage's cost per upscaler-latent pixel, from one untiled call on a 64x64 latent
    u = torch.randn(1, pipe.projection.config.in_channels, 64, 64)
    per_px = peak_memory_mb(lambda: pipe.upscale_latent(u)) / (64 * 64)
    ctx = int(pipe.config.tile_context)
    tile = tile_for_budget(a.budget_mb, per_px, context=ctx, align=8)
    print(f"{a.model}: upscaling stage {per_px * 1024:.2f} MB per 1k latent px -> tile {tile} latent px "
          f"(+{ctx} context) for a {a.budget_mb:g} MB budget; output_type={a.output_type!r}; every (allocator, "
          f"side) in {a.procs} fresh processes x {a.calls} call(s), OMP_NUM_THREADS=1")
    memory, spreads = {}, {}
    for name in a.allocators:
        rows, spread = memory_rows(a, tile, name)
        memory[name], spreads[name] = rows, spread
        env = " ".join(f"{k}={v}" for k, v in ALLOCATORS[name].items()) or "no MALLOC_* variables"
        print(f"  allocator: {name} ({env})")
        for r in rows:
            print(f"    output {r['output']}^2: peak {r['peak_mb']:.1f} MB = output alone {r['output_mb']:.1f} MB + "
                  f"working {r['working_mb']:.1f} MB (median of {a.procs} processes; working range "
                  f"{r['working_min_mb']:.1f}-{r['working_max_mb']:.1f}); edit stage alone {r['edit_mb']:.1f} MB")
        print(f"    working memory spread {a.sizes[0]}^2 -> {a.sizes[-1]}^2 (max - min) / min of the medians: "
              f"{100 * spread:.1f}% ({'flat within 10%' if spread <= 0.10 else 'NOT flat within 10%'})")

    naive = StableDiffusionInstructPix2PixPipeline(vae=pipe.vae, text_encoder=pipe.text_encoder, tokenizer=pipe.tokenizer,
                                                   unet=pipe.unet, scheduler=pipe.scheduler, safety_checker=None,
                                                   feature_extractor=None, requires_safety_checker=False)
    naive.set_progress_bar_config(disable=True)
    timing = []
    for side in a.naive_sizes:
        img = _photo(side)
        runs = {"naive": lambda: naive("make it red", img, output_type="np", **_kw(a.steps)),
                "mobilepicasso": lambda: pipe("make it red", img, output_size=side, tile=tile, output_type="np",
                                              **_kw(a.steps))}
        t = {k: [] for k in runs}
        for _ in range(a.repeats):  # interleaved A B A B
            for k, fn in runs.items():
                t0 = time.perf_counter()
                fn()
                t[k].append(time.perf_counter() - t0)
        med = {k: statistics.median(v) for k, v in t.items()}
        naive_peak = peak_memory_mb(runs["naive"])
        timing.append({"output": side, **{f"{k}_s": v for k, v in med.items()}, "ratio": med["naive"] / med["mobilepicasso"],
                       "naive_peak_mb": naive_peak})
        print(f"  {side}^2: naive full-resolution edit {med['naive']:.2f} s (peak {naive_peak:.0f} MB), "
              f"MobilePicasso {med['mobilepicasso']:.2f} s -> {med['naive'] / med['mobilepicasso']:.1f}x faster "
              f"(median of {a.repeats}, interleaved)")
    cpu = sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for f in ("ru_utime", "ru_stime"))
    load = os.getloadavg()
    print(f"  took {time.perf_counter() - t_wall:.0f} s wall, {cpu:.0f} s CPU (this process and its children); "
          f"load average now {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"model": a.model, "tile": tile, "output_type": a.output_type, "allocators": ALLOCATORS,
                       "memory": memory, "spread": spreads, "latency": timing}, f, indent=1)


if __name__ == "__main__":
    main()
