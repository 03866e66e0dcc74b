"""LoRA as graph input vs one merged model per task: bytes on disk and peak memory for N
tasks, N = 1..10 (QUAD, arXiv 2603.29535; the paper: 10 LoRAs on a 1.4 GB base, 15 GB merged
vs 2.6 GB shared, ~6x).

Measured: the denoiser of ``--model`` with LoRA-input layers exported once to ONNX, and one
merged export; shared = that one graph + N LoRA files, merged = N merged graphs (one per
task, each the measured merged file's size). Peak memory: a fresh process per (mode, N) opens
the onnxruntime sessions (merged: N sessions; shared: 1 session + N LoRAs' buffers), runs each
task once and reports its peak RSS (VmHWM, reset after the imports) above its RSS before loading.

Computed (not measured): the same table for full-size SD1.5 from parameter counts on the
meta device (fp32 weights), for a size ratio comparable to the paper's.

    .venv/bin/python benchmarks/quad_memory.py --model mini-sd --rank 8
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

TARGETS = [r"attn\d\.to_(q|k|v|out\.0)$"]


def build(args, folder: Path) -> dict:
    """Write base-with-LoRA-inputs.onnx, merged.onnx and N LoRA files; return their sizes."""
    import torch

    import zoo
    from zoo.export.onnx_export import export_onnx
    from zoo_fraqat.lora import add_lora_inputs, merged_copy, save_lora
    from zoo_fraqat.lora_export import export_lora_graph, lora_graph

    pipe = zoo.load(args.model, pretrained=not args.random_init, progress=False)
    spec = zoo.spec_of(pipe)
    name = next(n for n in ("unet", "transformer") if hasattr(pipe, n))
    layers = add_lora_inputs(getattr(pipe, name), args.rank, TARGETS)
    export_lora_graph(pipe, spec, name, folder / "shared.onnx")
    g = torch.Generator().manual_seed(0)
    loras = []
    for i in range(args.max_n):
        lora = {n: (torch.randn(m.out_features, args.rank, generator=g) * 0.01,
                    torch.randn(args.rank, m.in_features, generator=g) * 0.01) for n, m in layers.items()}
        save_lora(lora, folder / f"lora{i}.safetensors")
        loras.append(lora)
    graph, inputs = lora_graph(pipe, spec, name)
    merged = merged_copy(graph.component, {f"inner.{k}": v for k, v in loras[0].items()})
    export_onnx(merged, inputs, folder / "merged.onnx")
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in inputs.items()}, str(folder / "inputs.safetensors"))
    return {"shared_graph": _bytes(folder / "shared.onnx"), "merged_graph": _bytes(folder / "merged.onnx"),
            "lora": _bytes(folder / "lora0.safetensors"), "layers": len(layers), "model": args.model}


def _bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


CHILD = r"""
import json, sys
from safetensors.torch import load_file
from zoo.export.onnx_export import session, feeds
from zoo_fraqat.lora import read_lora, input_name
folder, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
inputs = load_file(f"{folder}/inputs.safetensors")
def status_kb(key):
    return int(open('/proc/self/status').read().split(key + ':')[1].split()[0])
open('/proc/self/clear_refs', 'w').write('5')  # reset the high-water mark: imports are not counted
base = status_kb('VmRSS')
if mode == "merged":
    sessions = [session(f"{folder}/merged.onnx") for _ in range(n)]
    for s in sessions:
        s.run(None, feeds(s, inputs))
else:
    s = session(f"{folder}/shared.onnx")
    names = [i.name for i in s.get_inputs()]
    bufs = []
    for i in range(n):
        lora = read_lora(f"{folder}/lora{i}.safetensors")
        b = {}
        for layer, (A, B) in lora.items():
            b[input_name(layer, "a")], b[input_name(layer, "b")] = A.numpy(), B.numpy()
        bufs.append(b)
    for b in bufs:
        full = {**{k: v for k, v in inputs.items()}, **{k: v for k, v in b.items() if k in names}}
        s.run(None, feeds(s, full))
print(json.dumps({"peak_kb": status_kb('VmHWM'), "base_kb": base}))
"""


def peak_mb(folder: Path, mode: str, n: int) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", CHILD, str(folder), mode, str(n)], capture_output=True, text=True,
                         env=env, check=True).stdout.strip().splitlines()[-1]
    d = json.loads(out)
    return (d["peak_kb"] - d["base_kb"]) / 1024


def full_size(rank: int) -> dict:
    """SD1.5 UNet fp32 bytes and one rank-``rank`` LoRA's bytes on the same targets (meta device)."""
    import re

    import torch

    import zoo

    unet = zoo.build("sd15", device="meta").unet
    pats = [re.compile(p) for p in TARGETS]
    base = sum(p.numel() for p in unet.parameters()) * 4
    lora = sum((m.in_features + m.out_features) * rank * 4 for n, m in unet.named_modules()
               if type(m) is torch.nn.Linear and any(p.search(n) for p in pats))
    return {"base": base, "lora": lora}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="mini-sd")
    p.add_argument("--random-init", action="store_true", help="random weights (sizes do not depend on them)")
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--max-n", type=int, default=10)
    p.add_argument("--no-rss", action="store_true", help="skip the peak-memory processes")
    p.add_argument("--rss-n", type=int, nargs="*", default=None, help="measure peak memory only at these N")
    p.add_argument("--repeats", type=int, default=1, help="peak-memory runs per (mode, N); the median is printed")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="quad-memory-") as tmp:
        folder = Path(tmp)
        sizes = build(args, folder)
        print(f"\n{args.model}: {sizes['layers']} LoRA-input layers (attention q/k/v/out), rank {args.rank}; "
              f"shared graph {sizes['shared_graph'] / 1e6:.3f} MB, merged graph {sizes['merged_graph'] / 1e6:.3f} MB, "
              f"one LoRA {sizes['lora'] / 1e6:.3f} MB")
        print(f"{'N':>3s} {'disk merged MB':>15s} {'disk shared MB':>15s} {'ratio':>6s} "
              f"{'RSS merged MB':>14s} {'RSS shared MB':>14s} {'ratio':>6s}")
        for n in range(1, args.max_n + 1):
            dm, ds = n * sizes["merged_graph"], sizes["shared_graph"] + n * sizes["lora"]
            row = {"n": n, "disk_merged": dm, "disk_shared": ds, "disk_ratio": dm / ds}
            if not args.no_rss and (not args.rss_n or n in args.rss_n):
                # interleaved (merged, shared, merged, shared ...) in fresh processes; medians
                runs = [(peak_mb(folder, "merged", n), peak_mb(folder, "shared", n)) for _ in range(args.repeats)]
                row["rss_merged_mb"] = statistics.median(r[0] for r in runs)
                row["rss_shared_mb"] = statistics.median(r[1] for r in runs)
                row["rss_ratio"] = row["rss_merged_mb"] / row["rss_shared_mb"]
            rows.append(row)
            rss = (f"{row['rss_merged_mb']:14.2f} {row['rss_shared_mb']:14.2f} {row['rss_ratio']:6.2f}"
                   if "rss_ratio" in row else "")
            print(f"{n:3d} {dm / 1e6:15.3f} {ds / 1e6:15.3f} {dm / ds:6.2f} {rss}")
    fs = full_size(args.rank)
    print(f"\nComputed for full-size SD1.5 UNet (fp32 {fs['base'] / 1e9:.2f} GB, one rank-{args.rank} LoRA on the same "
          f"layers {fs['lora'] / 1e6:.1f} MB), bytes only:")
    for n in (1, 5, 10):
        m, s = n * fs["base"], fs["base"] + n * fs["lora"]
        print(f"  N={n:2d}: merged {m / 1e9:.2f} GB, shared {s / 1e9:.2f} GB, ratio {m / s:.2f}")
    print("Paper (QUAD): N=10, 1.4 GB base + ~120 MB LoRAs: 15 GB merged vs 2.6 GB shared (~6x).")
    if args.json:
        Path(args.json).write_text(json.dumps({"sizes": sizes, "rows": rows, "full_size_sd15": fs}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
