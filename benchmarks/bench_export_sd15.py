"""Full-size SD1.5 UNet: ONNX export (dynamo exporter, external data) + onnxruntime parity,
and onnxruntime vs torch latency on this CPU. Random-init weights (no download needed);
export cost and parity do not depend on the weights' values.

    python benchmarks/bench_export_sd15.py [--out /tmp/sd15-export] [--repeats 3]

Needs ~10 GB of RAM and ~7 GB of disk; about 5 minutes on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux reports KiB


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=None, help="export folder (default: a temp dir, removed after)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    import torch

    import zoo
    from zoo.building import build_component
    from zoo.components import component_module, example_inputs
    from zoo.evaluate.latency import time_calls, torch_latency
    from zoo.export import ExportRequest, export
    from zoo.export.onnx_export import run_onnx, session

    spec = zoo.get_spec("sd15")
    comp = spec.component("unet")
    torch.manual_seed(0)
    unet = build_component(spec.config["components"]["unet"]).eval()
    params = sum(p.numel() for p in unet.parameters())
    mod, inputs = component_module(unet, comp), example_inputs(comp)
    print(f"SD1.5 UNet: {params / 1e6:.2f}M params, inputs {dict((k, list(v.shape)) for k, v in inputs.items())}, "
          f"{torch.get_num_threads()} torch threads")

    # The eval suite's timers: same warm-up, inference mode and denormal handling for both runtimes.
    torch_s = torch_latency(mod, inputs, warmup=1, repeats=args.repeats).median_ms / 1e3
    print(f"torch forward: {torch_s:.2f} s (median of {args.repeats})")

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="sd15-export-"))
    t = time.perf_counter()
    paths = export(unet, ExportRequest(target="onnx", components=["unet"], out_dir=out), spec=spec)
    export_s = time.perf_counter() - t
    meta = json.loads(paths[-1].read_text())["components"]["unet"]
    print(f"export + parity: {export_s:.1f} s, peak RSS {peak_rss_gb():.1f} GB, files {meta['file']} "
          f"+ {meta['external_data']}, {meta['bytes'] / 2**30:.2f} GiB, {meta['nodes']} nodes")
    print(f"parity vs torch: max abs {meta['parity']['max_abs']:.3g}, rel {meta['parity']['rel_max']:.3g}, "
          f"cosine {meta['parity']['cosine']:.8f}")

    unet = mod = None  # free the torch weights before onnxruntime loads its copy
    sess = session(paths[0])
    ort_s = time_calls(lambda: run_onnx(paths[0], inputs, sess), warmup=1, repeats=args.repeats).median_ms / 1e3
    print(f"onnxruntime forward: {ort_s:.2f} s; onnxruntime / torch latency ratio {ort_s / torch_s:.2f}")
    result = {"unet_params_m": params / 1e6, "torch_forward_s": torch_s, "export_and_parity_s": export_s,
              "peak_rss_gb": peak_rss_gb(), "onnx_bytes": meta["bytes"], "parity": meta["parity"],
              "onnxruntime_forward_s": ort_s, "ort_over_torch": ort_s / torch_s, "threads": torch.get_num_threads()}
    print(json.dumps(result, indent=2))
    if not args.out:
        import shutil

        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
