"""Peak memory of TOC-SR's tiled x4 inference as the image grows (zoo.tiling.context_tiled):
512^2, 1024^2 and 2048^2 outputs at one tile size (from a memory budget), beside untiled runs.

Reported per size: the peak RSS rise of one call, that of allocating the output alone (the float32
result and its conversion to a PIL image, which any method must hold; measured the same way),
and the working memory = peak - output. The
claim checked: tiled working memory stays flat (within 10%) while untiled grows with the image.

    nice -n 15 .venv/bin/python benchmarks/tocsr_tiling.py [--model tocsr-x4-tiny] [--budget-mb 64] [--json OUT]
"""
from __future__ import annotations

import argparse
import json


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="tocsr-x4-tiny")
    ap.add_argument("--budget-mb", type=float, default=64.0, help="memory budget the tile size is chosen from")
    ap.add_argument("--context", type=int, default=16)
    ap.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048], help="output sides")
    ap.add_argument("--untiled-max", type=int, default=1024, help="largest output side also run untiled")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()

    import numpy as np
    import torch
    from PIL import Image

    import zoo
    from zoo.evaluate.latency import peak_memory_mb
    from zoo.tiling import tile_for_budget

    torch.set_grad_enabled(False)
    pipe = zoo.load(a.model, pretrained=False)
    pipe.set_progress_bar_config(disable=True)
    pipe(Image.new("RGB", (32, 32)), tile=32, context=a.context)  # warm-up: lazy inits off the books
    # the model's cost per LR pixel, measured on one untiled 64x64 LR call
    probe = Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    per_px = peak_memory_mb(lambda: pipe(probe, tile=64, context=0)) / (64 * 64)
    tile = tile_for_budget(a.budget_mb, per_px, context=a.context, align=2)
    rows = []
    for side in a.sizes:
        lr = Image.fromarray(np.random.default_rng(side).integers(0, 256, (side // 4, side // 4, 3), dtype=np.uint8))
        def output_only(side=side):
            # what any method must hold: the float32 result and its conversion to a PIL image
            out = torch.zeros(1, 3, side, side)
            arr = out.add_(1).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
            del out
            return [Image.fromarray(x) for x in arr]

        out_mb = peak_memory_mb(output_only)
        for mode in ("tiled", "untiled"):
            if mode == "untiled" and side > a.untiled_max:
                continue
            t = tile if mode == "tiled" else side  # untiled: one tile covering the whole image
            peak = peak_memory_mb(lambda: pipe(lr, tile=t, context=a.context))
            rows.append({"output": side, "mode": mode, "tile_lr": t, "peak_mb": peak, "output_mb": out_mb,
                         "working_mb": None if peak is None else peak - out_mb})
    print(f"{a.model}: {per_px * 1024:.1f} KB per LR pixel (measured); LR tile {tile} px (+{a.context} px context) "
          f"from a {a.budget_mb:g} MB budget; peak RSS rise per call")
    print(f"{'output':>8s} {'mode':>8s} {'peak MB':>8s} {'output MB':>10s} {'working MB':>11s}")
    for r in rows:
        print(f"{r['output']:>6d}^2 {r['mode']:>8s} {r['peak_mb']:8.1f} {r['output_mb']:10.1f} {r['working_mb']:11.1f}")
    tiled = [r["working_mb"] for r in rows if r["mode"] == "tiled"]
    spread = (max(tiled) - min(tiled)) / max(tiled)
    print(f"tiled working memory spread over {a.sizes[0]}^2..{a.sizes[-1]}^2: {100 * spread:.1f}% (claim: <= 10%)")
    if a.json:
        from zoo.atomic import write_text

        write_text(a.json, json.dumps({"mb_per_lr_pixel": per_px, "tile_lr": tile, "rows": rows, "tiled_spread": spread}, indent=1))


if __name__ == "__main__":
    main()
