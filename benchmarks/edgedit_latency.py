"""Latency ratio of DiT-XL/2 (edgedit-teacher), EdgeDiT-1 and EdgeDiT-6: one transformer
forward at 256x256 (32x32 latent, batch 1, random weights), timed interleaved (teacher, 1, 6,
teacher, 1, 6, ...) in one run so that machine load falls on all three alike. The paper
reports 1.67x / 1.63x on the iPhone ANE and 1.50x / 1.45x on the S25's Hexagon NPU.

    python benchmarks/edgedit_latency.py                    # CPU, 3 rounds after 1 warm-up
    python benchmarks/edgedit_latency.py --device cuda      # any torch device
    python benchmarks/edgedit_latency.py --ids edgedit-tiny --repeats 5    # plumbing

Needs ~7 GB RAM at full size (three float32 models).
"""
from __future__ import annotations

import argparse
import sys

PAPER = {"edgedit-1": {"iphone_ane": 1.67, "s25_hexagon": 1.50}, "edgedit-6": {"iphone_ane": 1.63, "s25_hexagon": 1.45}}


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ids", nargs="+", default=["edgedit-teacher", "edgedit-1", "edgedit-6"],
                    help="the first is the reference of the ratios")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = ap.parse_args(argv)

    import torch

    import zoo
    from zoo.components import example_inputs
    from zoo.evaluate.latency import time_interleaved

    if args.threads:
        torch.set_num_threads(args.threads)
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    models, inputs = {}, {}
    for mid in args.ids:
        spec = zoo.get_spec(mid)
        torch.manual_seed(0)
        models[mid] = zoo.build(mid).transformer.to(args.device).eval()
        inputs[mid] = example_inputs(spec.component("transformer"), device=args.device)
    with torch.no_grad():
        stats = time_interleaved({m: (lambda m=m: models[m](**inputs[m])) for m in models}, args.warmup, args.repeats,
                                 sync=sync, progress="interleaved calls")
    times = {m: [st.min_ms, st.max_ms] for m, st in stats.items()}
    ref = args.ids[0]
    med = {m: st.median_ms for m, st in stats.items()}
    print(f"device {args.device}, threads {torch.get_num_threads()}, {args.repeats} interleaved rounds after "
          f"{args.warmup} warm-up")
    for mid in args.ids:
        paper = PAPER.get(mid)
        ref_note = f"   paper: {paper['iphone_ane']}x ANE, {paper['s25_hexagon']}x Hexagon" if paper else ""
        print(f"{mid:16s} median {med[mid]:9.1f} ms  (min {min(times[mid]):9.1f}, max {max(times[mid]):9.1f})  "
              f"speed-up vs {ref}: {med[ref] / med[mid]:.2f}x median, {min(times[ref]) / min(times[mid]):.2f}x min"
              f"{ref_note}")
    try:
        import os

        print(f"load average (1, 5, 15 min) after the run: {os.getloadavg()}: ratios are noise where it exceeds the cores")
    except OSError:
        pass
    return {m: med[ref] / med[m] for m in args.ids}


if __name__ == "__main__":
    main()
    sys.exit(0)
