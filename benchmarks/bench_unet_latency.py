"""Latency of one denoiser (UNet/transformer) call per model, random weights, static shapes
from each spec (64x64 latent for the SD1.5 family).

    python benchmarks/bench_unet_latency.py                                # CPU, fp32
    python benchmarks/bench_unet_latency.py --device cuda --dtype fp16      # a GPU

Prints a markdown table: params, median latency with its interquartile range. Random weights
time the same as trained ones (denormals are flushed).
"""
from __future__ import annotations

import argparse
import platform


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ids", nargs="+", default=["sd15", "nanosd-l", "nanosd-m", "nanosd-s", "nanosd-xs"])
    ap.add_argument("--component", default="unet")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "fp16", "bf16"])
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    args = ap.parse_args()

    import torch

    import zoo
    from zoo.components import component_modules
    from zoo.evaluate.latency import torch_latency

    dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[args.dtype]
    where = torch.cuda.get_device_name() if args.device.startswith("cuda") else platform.processor() or platform.machine()
    print(f"device: {args.device} ({where}), {args.dtype}, torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}, {args.warmup} warm-up + {args.repeats} timed calls\n")
    print(f"| model | {args.component} params (M) | input | median ms | p25-p75 ms |")
    print("|---|---|---|---|---|")
    for mid in args.ids:
        model = zoo.build(mid)
        mod, inputs = component_modules(model, names=[args.component])[args.component]
        mod = mod.to(args.device, dtype)
        inputs = {k: v.to(args.device, dtype) if v.is_floating_point() else v.to(args.device) for k, v in inputs.items()}
        params = sum(p.numel() for p in mod.parameters()) / 1e6
        stats = torch_latency(mod, inputs, warmup=args.warmup, repeats=args.repeats)
        shape = "x".join(map(str, next(iter(inputs.values())).shape))
        print(f"| {mid} | {params:.2f} | {shape} | {stats.median_ms:.1f} | {stats.p25_ms:.1f}-{stats.p75_ms:.1f} |",
              flush=True)
        del model, mod
        if args.device.startswith("cuda"):
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
