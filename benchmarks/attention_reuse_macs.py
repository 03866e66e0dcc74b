"""Full-size MACs and map-cache memory of attention reuse, on the meta device (no weights, seconds):
one denoiser call as stock, as the caching step and as a reuse step, and the bytes the cached maps
take in fp32 for a batch of 1 (it scales with the batch: x2 for a CFG batch; x0.5 in fp16).

    python benchmarks/attention_reuse_macs.py                                  # sd15, nanosd-m, pixart-sigma
    python benchmarks/attention_reuse_macs.py --ids sd15 --attention cross
"""
from __future__ import annotations

import argparse


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ids", nargs="+", default=["sd15", "nanosd-m", "pixart-sigma"])
    ap.add_argument("--attention", default="both", choices=["both", "self", "cross"])
    args = ap.parse_args()

    import torch

    import zoo
    import zoo_attnreuse
    from zoo.components import component_modules
    from zoo.evaluate.macs import count_macs

    print(f"meta device, shapes from each spec's denoiser component; attention reused: {args.attention}\n")
    print("| model | denoiser input | stock GMACs | caching step GMACs | reuse step GMACs | reuse / stock | "
          "map cache fp32, batch 1 (MiB) | layers |")
    print("|---|---|---|---|---|---|---|---|")
    for mid in args.ids:
        model = zoo.build(mid, device="meta")
        name = "unet" if hasattr(model, "unet") else "transformer"
        mod, inputs = component_modules(model, names=[name])[name]
        den = getattr(model, name)
        stock = count_macs(mod, inputs, module=den, mode="meta").total
        ctrl = zoo_attnreuse.apply(den, {"policy": "steps", "steps": [1], "attention": args.attention}, model_id=mid)
        ctrl.begin(2)
        with torch.no_grad():
            caching = count_macs(mod, inputs, module=den, mode="meta").total
            cache_bytes = ctrl.cache_bytes()
            reuse = count_macs(mod, inputs, module=den, mode="meta").total
        ctrl.remove()
        shape = "x".join(str(d) for d in next(iter(inputs.values())).shape)
        print(f"| {mid} | {shape} | {stock / 1e9:.1f} | {caching / 1e9:.1f} | {reuse / 1e9:.1f} | {reuse / stock:.3f} | "
              f"{cache_bytes / 2**20:.0f} | {len(ctrl.originals)} |")


if __name__ == "__main__":
    main()
