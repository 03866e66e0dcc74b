"""Full-size cost of attention reuse: one denoiser call on a compute step, on the compute step that
caches the maps, and on a reuse step, timed interleaved (compute, cache, reuse per round), beside
the share of a compute step's time spent in the attention kernels (torch profiler) and the memory
the cached maps take. Random weights (they time as trained ones do); batch 1 (no CFG batch).

    python benchmarks/attention_reuse_fullsize.py                       # sd15 and nanosd-m UNets at 512^2
    python benchmarks/attention_reuse_fullsize.py --ids sd15 --attention cross --repeats 5
    python benchmarks/attention_reuse_fullsize.py --ids sd15-tiny --repeats 1     # plumbing
"""
from __future__ import annotations

import argparse
import statistics
import time


def attention_share(unet, inputs) -> tuple[float, float]:
    """(share of self CPU time in SDPA kernels, total ms) of one stock call, from torch.profiler."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    with torch.no_grad(), profile(activities=[ProfilerActivity.CPU]) as prof:
        unet(**inputs)
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    sdpa = sum(e.self_cpu_time_total for e in events if "scaled_dot_product" in e.key)
    return sdpa / total, total / 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ids", nargs="+", default=["sd15", "nanosd-m"])
    ap.add_argument("--attention", default="both", choices=["both", "self", "cross"])
    ap.add_argument("--caching-output", default="sdpa", choices=["sdpa", "map"],
                    help="caching step's output: the stock kernel (exact) or A V from the formed map")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    import torch

    import zoo
    import zoo_attnreuse
    from zoo.components import component_modules
    from zoo.evaluate.records import machine_description

    print(f"{machine_description()}, torch threads {torch.get_num_threads()}, batch 1, fp32, random weights; "
          f"{args.repeats} interleaved rounds after one warm-up round; attention reused: {args.attention}, "
          f"caching step output: {args.caching_output}\n")
    print("| model | latent | compute step ms | caching step ms | reuse step ms | reuse / compute | "
          "SDPA share of compute step (profiler) | map cache (MiB) | layers reusing |")
    print("|---|---|---|---|---|---|---|---|---|")
    for mid in args.ids:
        pipe = zoo.build(mid)
        unet = pipe.unet if hasattr(pipe, "unet") else pipe.transformer
        unet.eval()
        name = "unet" if hasattr(pipe, "unet") else "transformer"
        _, inputs = component_modules(pipe, names=[name])[name]
        call_inputs = {k: v for k, v in inputs.items()}
        share, _ = attention_share(unet, call_inputs)
        reuse_cfg = {"policy": "steps", "steps": [1], "attention": args.attention, "caching_output": args.caching_output}
        ctrl = zoo_attnreuse.apply(unet, reuse_cfg, model_id=mid)
        times = {"compute": [], "cache": [], "reuse": []}
        peak = 0
        with torch.no_grad():
            for r in range(args.repeats + 1):  # round 0 warms up
                ctrl.cfg = zoo_attnreuse.parse_config({"policy": "none", "attention": args.attention})
                ctrl.begin(1)
                t0 = time.perf_counter()
                unet(**call_inputs)
                t_compute = time.perf_counter() - t0
                ctrl.cfg = zoo_attnreuse.parse_config(reuse_cfg)
                ctrl.begin(2)
                t0 = time.perf_counter()
                unet(**call_inputs)  # step 0: compute + cache the maps
                t_cache = time.perf_counter() - t0
                peak = max(peak, ctrl.cache_bytes())
                t0 = time.perf_counter()
                unet(**call_inputs)  # step 1: reuse them
                t_reuse = time.perf_counter() - t0
                if r:
                    times["compute"].append(t_compute)
                    times["cache"].append(t_cache)
                    times["reuse"].append(t_reuse)
        ctrl.remove()
        med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
        latent = "x".join(str(d) for d in next(iter(call_inputs.values())).shape[-2:])
        print(f"| {mid} | {latent} | {med['compute']:.0f} | {med['cache']:.0f} | {med['reuse']:.0f} | "
              f"{med['reuse'] / med['compute']:.2f} | {share:.1%} | {peak / 2**20:.0f} | {len(ctrl.originals)} |")
        del pipe, unet, ctrl


if __name__ == "__main__":
    main()
