"""EC on the proving ground: ec-mini (one UNet pass per step, no guidance) vs mini-edit with
3-pass InstructPix2Pix CFG at equal steps, on held-out photos' edits.

    nice -n 15 .venv/bin/python benchmarks/ec_miniature.py                  # shipped ec-mini weights
    nice -n 15 .venv/bin/python benchmarks/ec_miniature.py --train-steps 400  # retrain from mini-edit first

Prints PSNR / SSIM vs the true edit target (and the identity baseline), denoiser calls per step,
and wall time measured interleaved (ec, cfg, ec, cfg ... per batch) in one run.
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10, help="sampling steps, the same for both")
    ap.add_argument("--per-op", type=int, default=8, help="held-out edits per operation")
    ap.add_argument("--train-steps", type=int, default=0, help="retrain ec-mini from mini-edit first (0: shipped weights)")
    ap.add_argument("--train-samples", type=int, default=3584)
    ap.add_argument("--guidance", type=float, default=7.5, help="CFG text scale s_P (paper: 7.5)")
    ap.add_argument("--image-guidance", type=float, default=1.6, help="CFG image scale s_I (paper: 1.6)")
    ap.add_argument("--batch", type=int, default=28)
    args = ap.parse_args(argv)

    import torch

    import zoo
    from zoo.proving.edits import OPS, edits, identity_baseline, score

    spec = zoo.get_spec("ec-mini")
    if args.train_steps:
        from zoo_ec.train import train_ec

        ec = train_ec(spec, {"steps": args.train_steps, "samples": args.train_samples, "out_dir": "unused"}, save=False)
        print(f"trained ec-mini from mini-edit: {args.train_steps} steps, loss {ec._zoo_training['loss_first']:.4f} -> "
              f"{ec._zoo_training['loss_last']:.4f}, {ec._zoo_training['wall_s']} s")
    else:
        ec = zoo.load("ec-mini")
    cfg = zoo.load("mini-edit")
    for p in (ec, cfg):
        p.set_progress_bar_config(disable=True)
    ds = edits("test", 32, args.per_op * len(OPS), seed=0)
    # denoiser passes = rows the UNet ran (diffusers batches CFG's branches into one call)
    calls = {"ec": 0, "cfg": 0, "one": 0}
    outs = {"ec": [], "cfg": [], "one": []}
    wall = {"ec": 0.0, "cfg": 0.0, "one": 0.0}
    # "one": mini-edit without guidance (its own default, 1 pass): the reference a guidance-free method must reach
    kw = {"ec": {}, "cfg": {"guidance_scale": args.guidance, "image_guidance_scale": args.image_guidance},
          "one": {"guidance_scale": 1.0, "image_guidance_scale": 1.0}}
    pipes = {"ec": ec, "cfg": cfg, "one": cfg}
    current = {"name": "ec"}

    def count(mod, a, out):
        calls[current["name"]] += a[0].shape[0]

    hooks = [ec.unet.register_forward_hook(count), cfg.unet.register_forward_hook(count)]
    for i in range(0, len(ds), args.batch):
        idx = list(range(i, min(i + args.batch, len(ds))))
        prompts, images = [ds.instructions[j] for j in idx], [ds.pil(j)[0] for j in idx]
        for name in ("ec", "cfg", "one"):  # interleaved: all see the same machine load
            current["name"] = name
            gen = torch.Generator().manual_seed(i)
            t0 = time.perf_counter()
            res = pipes[name](prompts, image=images, num_inference_steps=args.steps, generator=gen, output_type="np", **kw[name])
            wall[name] += time.perf_counter() - t0
            outs[name].append((np.clip(res.images, 0, 1) * 255).round().astype(np.uint8))
    for h in hooks:
        h.remove()
    per_step = len(ds) * args.steps
    res = {"identity": identity_baseline(ds)["all"]}
    for name in ("ec", "cfg", "one"):
        res[name] = score(np.concatenate(outs[name]), ds)["all"]
    print(f"held-out edits: {len(ds)} crops ({args.per_op} per op x {len(OPS)} ops), {args.steps} steps, torch threads "
          f"{torch.get_num_threads()}")
    print(f"{'method':44s} {'PSNR dB':>8s} {'SSIM':>6s} {'passes/step':>10s} {'wall s':>7s}")
    rows = [("identity (input unchanged)", "identity", "-", "-"),
            ("ec-mini (EC, no guidance)", "ec", calls["ec"] / per_step, wall["ec"]),
            (f"mini-edit (3-pass CFG s_P={args.guidance:g} s_I={args.image_guidance:g})", "cfg",
             calls["cfg"] / per_step, wall["cfg"]),
            ("mini-edit (no guidance, 1 pass)", "one", calls["one"] / per_step, wall["one"])]
    for label, key, c, w in rows:
        print(f"{label:44s} {res[key]['psnr']:8.2f} {res[key]['ssim']:6.3f} {c!s:>10} "
              f"{w if isinstance(w, str) else f'{w:7.2f}':>7}")
    print(f"wall-time ratio cfg / ec: {wall['cfg'] / wall['ec']:.2f}x (interleaved, same batches)")
    print(f"wall-time ratio mini-edit 1-pass / ec: {wall['one'] / wall['ec']:.2f}x")
    return {"scores": res, "wall": wall, "calls": calls}


if __name__ == "__main__":
    main()
