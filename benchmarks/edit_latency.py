"""Latency ratio original / EDiT per PixArt-Sigma transformer forward on CPU: the whole transformer at full
PixArt-Sigma size (28 blocks, 1152 channels, 16 heads x 72, T5 captions of 300 x 4096), timed interleaved
(original, EDiT, original, EDiT, ...) in one run, at 512^2 and 1024^2 pixels (latents 64 / 128: 1,024 /
4,096 tokens), then at 2048^2 (16,384 tokens) once each with the peak memory of each call. Optionally the
image self-attention layer alone at 4096^2 (65,536 tokens).

Random weights (latency does not depend on them). EDiT is the same model converted, sharing the original's
weight tensors (only its new attention modules are extra), so both fit in memory at full depth.

The paper (GPU, 28 blocks): 1.4x at 1024^2, 3.2x at 2048^2, 10.3x at 4096^2.

    nice -n 10 env OMP_NUM_THREADS=2 python benchmarks/edit_latency.py       # ~25 min on a 2-core VM
    python benchmarks/edit_latency.py --layers 1 --sizes 512 --memory-size 0  # quick look (one block)
"""
from __future__ import annotations

import argparse
import copy
import os
import time

PAPER = {1024: 1.4, 2048: 3.2, 4096: 10.3, 8192: 43.0}


def build(layers: int):
    """(original, EDiT) PixArt-Sigma transformers with ``layers`` blocks; EDiT shares the original's
    weight tensors (deepcopy with them in the memo), adding only its own modules."""
    import torch

    import zoo
    from zoo.building import build_component

    from zoo_edit.models import convert

    comp = copy.deepcopy(zoo.get_spec("pixart-sigma").config["components"]["transformer"])
    comp["config"]["num_layers"] = layers
    torch.manual_seed(0)
    original = build_component(comp).eval()
    shared = {id(t): t for t in [*original.parameters(), *original.buffers()]}
    edit = convert(copy.deepcopy(original, shared)).eval()
    return original, edit


def inputs(size: int, text_len: int = 300):
    import torch

    g = torch.Generator().manual_seed(0)
    lat = size // 8
    return {"hidden_states": torch.randn(1, 4, lat, lat, generator=g),
            "encoder_hidden_states": torch.randn(1, text_len, 4096, generator=g), "timestep": torch.tensor([999])}


def paper(size: int) -> str:
    return f"{PAPER[size]:.1f}x" if size in PAPER else "-"


def timed_with_memory(models: dict, x: dict, repeats: int) -> tuple[dict, dict]:
    """Each model called ``repeats`` times in rounds (A B A B): {name: [seconds]}, {name: peak MiB} (weights
    + the most working memory one call added)."""
    import torch

    from zoo.evaluate.latency import peak_memory_mb

    secs: dict = {k: [] for k in models}
    work: dict = {k: 0.0 for k in models}
    torch.set_flush_denormal(True)  # as zoo.evaluate.latency times: random weights off the denormal path
    try:
        with torch.inference_mode():
            for _ in range(repeats):
                for name, m in models.items():
                    def call(m=m, name=name):
                        t0 = time.perf_counter()
                        m(**x)
                        secs[name].append(time.perf_counter() - t0)

                    work[name] = max(work[name], peak_memory_mb(call) or 0.0)
                    print(f"  {name}: {secs[name][-1]:.1f} s", flush=True)
    finally:
        torch.set_flush_denormal(False)
    weights = {k: sum(t.numel() * t.element_size() for t in [*m.parameters(), *m.buffers()]) / 2**20
               for k, m in models.items()}
    return secs, {k: weights[k] + work[k] for k in models}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[512, 1024], help="image sizes timed interleaved")
    ap.add_argument("--warmup", type=int, default=0, help="untimed rounds per size (a forward is seconds long)")
    ap.add_argument("--repeats", type=int, default=2, help="timed rounds per size")
    ap.add_argument("--memory-size", type=int, default=2048, help="timed once per round with peak memory (0: skip)")
    ap.add_argument("--memory-repeats", type=int, default=1)
    ap.add_argument("--attn-size", type=int, default=0, help="the self-attention layer alone at this size (0: skip)")
    ap.add_argument("--layers", type=int, default=28, help="transformer blocks (PixArt-Sigma: 28)")
    args = ap.parse_args(argv)

    import torch

    from zoo.evaluate.latency import time_interleaved, torch_latency_interleaved

    original, edit = build(args.layers)
    print(f"PixArt-Sigma transformer, {args.layers} blocks at full width, CPU threads {torch.get_num_threads()}, "
          f"load avg {os.getloadavg()[0]:.1f}; {args.warmup} warm-up + {args.repeats} interleaved rounds per size",
          flush=True)
    out: dict = {}
    rows = []
    for size in args.sizes:
        st = torch_latency_interleaved({"original": (original, inputs(size)), "edit": (edit, inputs(size))},
                                       args.warmup, args.repeats, progress=f"{size}^2")
        a, b = st["original"].median_ms / 1e3, st["edit"].median_ms / 1e3
        out[size] = a / b
        rows.append((size, a, b, "", ""))
        print(f"forward {size}^2: original {a:.2f} s, EDiT {b:.2f} s, ratio {a / b:.2f}x", flush=True)
    if args.memory_size:
        size = args.memory_size
        print(f"forward {size}^2, {args.memory_repeats} round(s) with peak memory:", flush=True)
        secs, mb = timed_with_memory({"original": original, "edit": edit}, inputs(size), args.memory_repeats)
        a, b = (sorted(secs[k])[len(secs[k]) // 2] for k in ("original", "edit"))
        out[size] = a / b
        out.update({f"peak_mb_{k}": v for k, v in mb.items()})
        rows.append((size, a, b, f"{mb['original']:.0f}", f"{mb['edit']:.0f}"))
    if args.attn_size:
        side = args.attn_size // 16
        a0, a1 = original.transformer_blocks[0].attn1, edit.transformer_blocks[0].attn1
        x = torch.randn(1, side * side, a0.to_q.weight.shape[1])
        edit._edit_grid.hw = (side, side)
        with torch.inference_mode():
            st = time_interleaved({"original": lambda: a0(x), "edit": lambda: a1(x)}, 0, 1,
                                  progress=f"attention {args.attn_size}^2")
        a, b = st["original"].median_ms / 1e3, st["edit"].median_ms / 1e3
        out[f"attn{args.attn_size}"] = a / b
        print(f"self-attention layer alone {args.attn_size}^2 ({side * side} tokens): original {a:.2f} s, "
              f"EDiT {b:.2f} s, ratio {a / b:.2f}x", flush=True)
    print(f"\n{args.layers}-block transformer, one forward (median), CPU, {torch.get_num_threads()} threads:")
    print(f"{'size':>6s} {'tokens':>7s} {'original s':>11s} {'EDiT s':>8s} {'ratio':>6s} {'paper GPU':>9s} "
          f"{'peak MiB orig':>13s} {'peak MiB EDiT':>13s}")
    for size, a, b, ma, mb_ in rows:
        print(f"{size:>5d}² {(size // 16) ** 2:>7d} {a:>11.2f} {b:>8.2f} {a / b:>5.2f}x {paper(size):>9s} "
              f"{ma:>13s} {mb_:>13s}")
    print(f"load avg at the end {os.getloadavg()[0]:.1f} (shared VM: other jobs slow both models alike; the "
          "interleaved ratio is the number to read)")
    return out


if __name__ == "__main__":
    main()
