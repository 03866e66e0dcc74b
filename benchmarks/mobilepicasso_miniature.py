"""MobilePicasso miniature: editing at 4x the editing resolution on held-out proving-ground edits.

The trained mini-edit edits each held-out photo crop (the "test" split of zoo.proving.edits, cut at
4x the editor's 32 px, i.e. 128x128) at 32x32; then, from the same edited latent:

  A  MobilePicasso: latent projection onto tocsr-x4-mini's latent grid + one-step x4 SR, tile by tile
     (zoo.tiling.context_windows, tile from the pipeline's memory budget unless --tile); tocsr-x4-mini
     decodes a residual (skip=True), added to the bicubic upsample of the edit decoded at 32x32;
  B  the plain way: decode with mini-edit's VAE, bicubic x4 up;
  R  (reference, not timed) the pixel round trip the projection replaces: decode, bicubic x4, the
     upscaler's encoder, one-step SR, untiled.

PSNR / SSIM (zoo.proving.edits.score) of each against the true full-resolution target (the edit
applied to the 128x128 crop), per op and overall, and the wall time of A and B (each with its own
edit, interleaved A B per batch, median of the batches) are printed.

    nice -n 10 .venv/bin/python benchmarks/mobilepicasso_miniature.py [--count 112] [--weights runs/mobilepicasso-mini]

``--weights``: a folder holding ``projection/`` (default: the shipped miniature).
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any, Optional

MODEL = "mobilepicasso-mini"


def load(weights: Optional[str] = None) -> Any:
    import zoo

    pipe = zoo.load(MODEL, weights=weights) if weights else zoo.load(MODEL)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _uint8(x: Any) -> Any:
    """NCHW in [-1, 1] -> NHWC uint8."""
    import torch

    return x.float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def decode_bicubic(pipe: Any, z: Any, out_wh: tuple) -> Any:
    """B: the edited latent decoded by the editor's VAE, then bicubic up to the output size."""
    import torch

    vae = pipe.vae
    x = vae.decode(z / vae.config.scaling_factor).sample.float().clamp(-1, 1)
    return torch.nn.functional.interpolate(x, size=(out_wh[1], out_wh[0]), mode="bicubic", align_corners=False)


def round_trip(pipe: Any, z: Any, out_wh: tuple) -> Any:
    """R: what the projection replaces: decode, bicubic up, the upscaler's encoder, one-step SR (untiled)."""
    return pipe.upscaler().restore(decode_bicubic(pipe, z, out_wh).clamp(-1, 1)).float()


def evaluate(pipe: Any, count: int = 64, batch: int = 16, seed: int = 0, tile: Optional[int] = None,
             progress: bool = True) -> dict:
    """Scores of A, B and R and the wall times of A and B on ``count`` held-out edits at 4x the edit size."""
    import numpy as np
    import torch
    from tqdm.auto import tqdm

    import zoo
    from zoo.proving import edits

    spec = zoo.get_spec(MODEL)
    e, s = int(pipe.config.edit_size), int(pipe.config.scale)
    ds = edits.edits("test", size=e * s, count=count, seed=seed)
    call = dict(spec.config.get("call_kwargs", {}))
    outs: dict = {"A": [], "B": [], "R": []}
    times: dict = {"A": [], "B": []}
    with torch.no_grad():
        for i in tqdm(range(0, len(ds), batch), desc="held-out edits", unit="batch", disable=not progress):
            idx = range(i, min(i + batch, len(ds)))
            images = [ds.pil(j)[0] for j in idx]
            prompts = [ds.instructions[j] for j in idx]

            def edit():
                return pipe.edit_latent(prompts, images, generator=torch.Generator().manual_seed(seed + i), **call)

            t0 = time.perf_counter()
            z, wh = edit()
            a = pipe.upscale(z, wh, tile=tile)
            times["A"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            z_b, wh = edit()
            b = decode_bicubic(pipe, z_b, wh)
            times["B"].append(time.perf_counter() - t0)
            assert torch.equal(z, z_b)  # both methods start from the same edit (seeded, deterministic)
            outs["A"].append(_uint8(a))
            outs["B"].append(_uint8(b))
            outs["R"].append(_uint8(round_trip(pipe, z, wh)))
    scores = {k: edits.score(np.concatenate(v), ds) for k, v in outs.items()}
    per_batch = {k: statistics.median(v) for k, v in times.items()}
    return {"count": len(ds), "size": e * s, "edit_size": e, "tile": pipe.tile_side(tile, None, int(pipe.config.tile_context)),
            "scores": scores, "median_batch_s": per_batch, "batch": batch, "ops": sorted(set(ds.ops))}


LABELS = {"A": "edit + latent projection + tiled one-step SR (MobilePicasso)",
          "B": "edit + decode + bicubic up",
          "R": "edit + decode + bicubic + SR encode + one-step SR (the round trip; reference)"}


def report(res: dict) -> None:
    print(f"{MODEL}: {res['count']} held-out edits, edited at {res['edit_size']}^2, output {res['size']}^2 "
          f"(upscaler tile {res['tile']} latent px)")
    ops = res["ops"]
    print(f"  {'method':<78} {'PSNR':>6} {'SSIM':>6}  " + " ".join(f"{o[:8]:>8}" for o in ops))
    for k, label in LABELS.items():
        sc = res["scores"][k]
        print(f"  {k} {label:<76} {sc['all']['psnr']:6.2f} {sc['all']['ssim']:6.3f}  "
              + " ".join(f"{sc[o]['psnr']:8.2f}" for o in ops))
    d = res["scores"]["A"]["all"]["psnr"] - res["scores"]["B"]["all"]["psnr"]
    print(f"  A - B: {d:+.2f} dB PSNR (per-op columns: PSNR dB)")
    t = res["median_batch_s"]
    print(f"  wall time per batch of {res['batch']} (median, interleaved A B): A {t['A']:.3f} s, B {t['B']:.3f} s "
          f"-> A/B {t['A'] / t['B']:.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=112, help="held-out edits (the 7 ops in turn)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--tile", type=int, default=None, help="upscaler-latent tile side (default: from the budget)")
    ap.add_argument("--weights", default=None, help="a folder holding projection/ (default: the shipped one)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (two contended threads on the shared "
                    "2-core VM ran these small convs ~10x slower than one)")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    import torch

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    res = evaluate(load(a.weights), count=a.count, batch=a.batch, seed=a.seed, tile=a.tile)
    report(res)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
