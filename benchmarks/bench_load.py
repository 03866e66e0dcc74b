"""Overhead of `zoo.load` on a local folder over plain diffusers loading the same folder.

    python benchmarks/bench_load.py [--model nanosd-s] [--rounds 7] [--folder DIR]

Pushes ``--model`` with random weights to a folder (``zoo push --to``, once; reused with
``--folder``), then loads it in rounds, A B A B in one process so that machine noise hits both
alike: A = ``zoo.load("local-dir:DIR")`` (spec, manifest check, weights), B =
``DiffusionPipeline.from_pretrained(DIR, trust_remote_code=True)``. Prints each side's median
and the median of the per-round ratios A/B. Target: at most 1.05 (5% overhead). The first
round is a warm-up (OS file cache, plugin discovery, the verified-file memo's first hashing).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="nanosd-s")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--folder", default=None, help="an existing `zoo push --to` folder (default: push to a temp one)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (pinned; default: torch's count)")
    args = ap.parse_args()

    import torch
    from diffusers import DiffusionPipeline
    from diffusers.utils import logging as dlogging

    import zoo
    from zoo.push import push

    dlogging.set_verbosity_error()
    torch.set_num_threads(args.threads or torch.get_num_threads())
    tmp = None
    folder = Path(args.folder) if args.folder else None
    if folder is None or not (folder / "model_index.json").exists():
        tmp = tempfile.TemporaryDirectory(prefix="bench-load-")
        folder = folder or Path(tmp.name) / args.model
        t = time.perf_counter()
        push(args.model, to=folder, pretrained=False)
        print(f"pushed {args.model} (random init) to {folder} in {time.perf_counter() - t:.1f} s")
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20

    def zoo_load():
        return zoo.load(f"local-dir:{folder}", progress=False)

    def plain():
        return DiffusionPipeline.from_pretrained(str(folder), trust_remote_code=True, use_safetensors=True)

    times: dict[str, list[float]] = {"zoo.load": [], "diffusers": []}
    for r in range(args.rounds + 1):
        for name, fn in (("zoo.load", zoo_load), ("diffusers", plain)):
            t = time.perf_counter()
            pipe = fn()
            dt = time.perf_counter() - t
            del pipe
            if r:  # round 0 warms up
                times[name].append(dt)
    ratios = [a / b for a, b in zip(times["zoo.load"], times["diffusers"])]
    print(f"{args.model}: {size:.0f} MiB in {folder}; {args.rounds} rounds, torch threads {torch.get_num_threads()}")
    for name, ts in times.items():
        print(f"  {name:10s} median {statistics.median(ts):.3f} s  min {min(ts):.3f}  max {max(ts):.3f}")
    print(f"  zoo.load / diffusers: median of per-round ratios {statistics.median(ratios):.3f} "
          f"(min {min(ratios):.3f}, max {max(ratios):.3f}); target <= 1.05")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
