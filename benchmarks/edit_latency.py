"""Latency ratio original / EDiT per PixArt-Sigma transformer forward on CPU, at full PixArt-Sigma width
(1152 channels, 16 heads x 72, T5 captions of 300 x 4096), timed interleaved (original, EDiT, original,
EDiT, ...) in one run, at 512^2, 1024^2 and 2048^2 pixels (latents 64, 128, 256: 1,024 / 4,096 / 16,384
tokens); the image self-attention layer alone at 4096^2 (65,536 tokens); peak memory of both at 2048^2.
Random weights (latency does not depend on them); EDiT = the same weights converted.

Depth: ``--layers`` blocks (default 1, not 28) so a 2048^2 forward fits a shared 2-core CPU. Every block
is identical, so the per-forward ratio of the 28-block model differs only by the patch embedding and
final layer, which both models share (it is slightly higher at 28 blocks).

The paper (GPU, 28 blocks): 1.4x at 1024^2, 3.2x at 2048^2, 10.3x at 4096^2.

    nice -n 10 python benchmarks/edit_latency.py                         # defaults: long on a loaded 2-core VM (4096^2 last)
    python benchmarks/edit_latency.py --sizes 512 --attn-size 0 --no-memory --repeats 1   # quick look
"""
from __future__ import annotations

import argparse
import copy
import os

PAPER = {1024: 1.4, 2048: 3.2, 4096: 10.3, 8192: 43.0}


def build(layers: int):
    import torch

    import zoo
    from zoo.building import build_component

    from zoo_edit.models import convert

    comp = copy.deepcopy(zoo.get_spec("pixart-sigma").config["components"]["transformer"])
    comp["config"]["num_layers"] = layers
    torch.manual_seed(0)
    original = build_component(comp).eval()
    edit = convert(copy.deepcopy(original)).eval()
    return original, edit


def inputs(size: int, text_len: int = 300):
    import torch

    g = torch.Generator().manual_seed(0)
    lat = size // 8
    return {"hidden_states": torch.randn(1, 4, lat, lat, generator=g),
            "encoder_hidden_states": torch.randn(1, text_len, 4096, generator=g), "timestep": torch.tensor([999])}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048], help="image sizes in pixels")
    ap.add_argument("--attn-size", type=int, default=4096, help="attention layer alone at this size (0: skip)")
    ap.add_argument("--memory-size", type=int, default=2048)
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=1)
    args = ap.parse_args(argv)

    import torch

    from zoo.evaluate.latency import time_interleaved, torch_latency_interleaved, torch_peak_memory_mb

    original, edit = build(args.layers)
    load = os.getloadavg()[0]
    print(f"PixArt-Sigma width, {args.layers} blocks, CPU threads {torch.get_num_threads()}, load avg {load:.1f}; "
          f"warm-up {args.warmup}, {args.repeats} interleaved repeats", flush=True)
    out: dict = {}
    for size in args.sizes:
        x = inputs(size)
        st = torch_latency_interleaved({"original": (original, x), "edit": (edit, x)}, args.warmup, args.repeats,
                                       progress=f"{size}^2")
        ratio = st["original"].median_ms / st["edit"].median_ms
        out[size] = ratio
        paper = f"{PAPER[size]:.1f}x" if size in PAPER else "-"
        print(f"forward {size}^2 ({(size // 16) ** 2} tokens): original {st['original'].median_ms / 1e3:.2f} s, "
              f"EDiT {st['edit'].median_ms / 1e3:.2f} s, ratio {ratio:.2f}x (paper GPU: {paper})", flush=True)
    if not args.no_memory:
        x = inputs(args.memory_size)
        for name, m in (("original", original), ("edit", edit)):
            mb = torch_peak_memory_mb(m, x)
            out[f"peak_mb_{name}"] = mb
            print(f"peak memory {args.memory_size}^2 {name}: {mb:.0f} MiB (weights + working memory)", flush=True)
    if args.attn_size:
        side = args.attn_size // 16
        a0, a1 = original.transformer_blocks[0].attn1, edit.transformer_blocks[0].attn1
        x = torch.randn(1, side * side, a0.to_q.weight.shape[1])
        edit._edit_grid.hw = (side, side)
        with torch.inference_mode():
            st = time_interleaved({"original": lambda: a0(x), "edit": lambda: a1(x)}, 0, 1,
                                  progress=f"attention {args.attn_size}^2")
        ratio = st["original"].median_ms / st["edit"].median_ms
        out[f"attn{args.attn_size}"] = ratio
        print(f"self-attention layer alone {args.attn_size}^2 ({side * side} tokens): original "
              f"{st['original'].median_ms / 1e3:.2f} s, EDiT {st['edit'].median_ms / 1e3:.2f} s, ratio {ratio:.2f}x "
              f"(paper GPU, whole forward: {PAPER.get(args.attn_size, '-')}x)", flush=True)
    print(f"load avg at the end {os.getloadavg()[0]:.1f} (shared VM: other jobs slow both models alike)")
    return out


if __name__ == "__main__":
    main()
