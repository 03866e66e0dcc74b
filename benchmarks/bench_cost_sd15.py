"""Full-size SD1.5 cost from a meta-device build (no weights, no memory, seconds):
UNet params and MACs at 512x512 (64x64 latent) with and without attention, every component,
against the figures on record (859.52M params; 401.6 GMACs with attention, 338.6 without).

    python benchmarks/bench_cost_sd15.py            # meta device: params and MACs
    python benchmarks/bench_cost_sd15.py --latency  # also time the real UNet on this CPU (~4 GB RAM)
"""
from __future__ import annotations

import argparse
import sys
import time

EXPECTED = {"unet_params_m": 859.52, "unet_gmacs": 401.6, "unet_gmacs_no_attention": 338.6}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency", action="store_true", help="time the full-size UNet forward (random weights)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    import zoo
    from zoo.components import component_modules
    from zoo.evaluate.macs import profile_module

    t0 = time.perf_counter()
    model = zoo.build("sd15", device="meta")
    t_build = time.perf_counter() - t0
    print(f"meta build: {t_build:.1f} s")
    measured = {}
    for name, (module, inputs) in component_modules(model).items():
        t = time.perf_counter()
        params, macs = profile_module(module, inputs)
        shapes = ", ".join(f"{k}{list(v.shape)}" for k, v in inputs.items())
        print(f"{name:13s} params {params / 1e6:9.2f}M  GMACs {macs.total / 1e9:8.1f} (w/o attention "
              f"{macs.without_attention / 1e9:8.1f})  [{shapes}]  {time.perf_counter() - t:.1f} s")
        if name == "unet":
            measured = {"unet_params_m": params / 1e6, "unet_gmacs": macs.total / 1e9,
                        "unet_gmacs_no_attention": macs.without_attention / 1e9}
    ok = True
    for k, ref in EXPECTED.items():
        good = abs(measured[k] - ref) <= 0.05 + 1e-9 * ref
        ok &= good
        print(f"{k:24s} measured {measured[k]:9.2f}  expected {ref:9.2f}  {'OK' if good else 'MISMATCH'}")
    if args.latency:
        import torch

        from zoo.evaluate.latency import torch_latency

        from zoo.components import component_module, example_inputs

        unet = zoo.build("sd15").unet
        comp = zoo.get_spec("sd15").component("unet")
        st = torch_latency(component_module(unet, comp), example_inputs(comp), warmup=1, repeats=args.repeats,
                           progress="sd15 unet")
        print(f"unet latency (torch, {torch.get_num_threads()} threads): median {st.median_ms:.0f} ms, "
              f"IQR {st.iqr_ms:.0f} ms, min {st.min_ms:.0f} ms over {st.repeats} calls")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
