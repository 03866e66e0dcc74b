"""MTU in miniature: one UNet upcycled from the trained `mini-sd` and trained on edit + sr + inpaint
together, against three single-task fine-tunes of the same base (each upcycled for its one task) at
equal steps per task. Prints per-task PSNR / SSIM on held-out photos (the proving ground's test
split) beside the identity baseline (for sr the input is the bicubic x4 upscale, so identity ==
bicubic), and how far the routers of the multi-task model moved apart per task.

    .venv/bin/python benchmarks/mtu_miniature.py                 # ~10 min on 2 CPU cores
    .venv/bin/python benchmarks/mtu_miniature.py --steps 50      # plumbing check
"""
from __future__ import annotations

import argparse
import copy
import os

os.environ.setdefault("OMP_NUM_THREADS", "2")

TASKS = ["edit", "sr", "inpaint"]


def sample(pipe, task: str, ds, steps: int, seed: int = 0):
    """uint8 outputs of the upcycled pipe on ``task`` for the EditSet ``ds`` (condition: input latent)."""
    import numpy as np
    import torch

    from zoo.proving.photos import to_tensor

    vae = pipe.vae
    with torch.no_grad():
        cond = vae.encode(to_tensor(ds.inputs)).latent_dist.mean * vae.config.scaling_factor
    pipe.unet.set_task(task, cond)
    size = ds.inputs.shape[1]
    out = pipe(prompt=list(ds.instructions), num_inference_steps=steps, guidance_scale=1.0, height=size, width=size,
               generator=torch.Generator().manual_seed(seed), output_type="np").images
    return (np.clip(out, 0, 1) * 255).round().astype(np.uint8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="mini-sd")
    ap.add_argument("--steps", type=int, default=400, help="optimizer steps per task (equal for every model)")
    ap.add_argument("--count", type=int, default=256, help="training items per task")
    ap.add_argument("--test", type=int, default=32, help="held-out items per task")
    ap.add_argument("--sample-steps", type=int, default=20)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--out", default=None, help="save the multi-task pipeline here")
    args = ap.parse_args()

    import torch

    import zoo
    import zoo_mtu
    from zoo.proving import edits as E
    from zoo_mtu.data import proving_task
    from zoo_mtu.train import parse_config, train

    base = zoo.load(args.base)
    size = zoo.get_spec(args.base).resolution
    common = {"size": size, "count": args.count, "batch_size": 16, "lr": args.lr, "progress": True}
    test = {t: proving_task(t, "test", size, args.test, seed=0) for t in TASKS}

    def held_out_scores(pipe, tasks):
        rows = {}
        for t in tasks:
            ds = E.EditSet(test[t].conds, test[t].targets, test[t].prompts, [t] * len(test[t]))
            rows[t] = (E.score(sample(pipe, t, ds, args.sample_steps), ds)["all"], E.identity_baseline(ds)["all"])
        return rows

    torch.manual_seed(0)
    multi = zoo_mtu.apply(copy.deepcopy(base), {"tasks": TASKS})
    # multi-task: each step sums one batch per task of the mix (k = 3 draws), so `steps` steps give
    # ~`steps` batches per task, the same as each single-task run below
    log = train(multi, parse_config({**common, "tasks": TASKS, "steps": args.steps, "out": args.out, "overwrite": True}))
    scores_multi = held_out_scores(multi, TASKS)
    scores_single = {}
    for t in TASKS:
        torch.manual_seed(0)
        single = zoo_mtu.apply(copy.deepcopy(base), {"tasks": [t]})
        train(single, parse_config({**common, "tasks": [t], "steps": args.steps}))
        scores_single[t] = held_out_scores(single, [t])[t][0]

    print(f"\nMTU miniature: base {args.base}, {size}px, {args.steps} steps per task, {args.count} train / "
          f"{args.test} held-out items per task, DDIM {args.sample_steps} steps")
    print(f"{'task':8s} {'identity PSNR':>14s} {'single-task PSNR':>17s} {'MTU PSNR':>9s}   "
          f"{'identity SSIM':>13s} {'single SSIM':>11s} {'MTU SSIM':>9s}")
    for t in TASKS:
        m, ident = scores_multi[t]
        s = scores_single[t]
        print(f"{t:8s} {ident['psnr']:14.2f} {s['psnr']:17.2f} {m['psnr']:9.2f}   "
              f"{ident['ssim']:13.3f} {s['ssim']:11.3f} {m['ssim']:9.3f}")
    print("held-out eps loss (multi-task) before -> after: " + ", ".join(
        f"{t} {log['heldout_loss_before'][t]:.4f} -> {log['heldout_loss_after'][t]:.4f}" for t in TASKS))
    ffs = [m for m in multi.unet.modules() if type(m).__name__ == "MTUFeedForward"]
    with torch.no_grad():
        w = {t: torch.stack([f.weights(t) for f in ffs]) for t in TASKS}
    for a, b in (("edit", "sr"), ("edit", "inpaint"), ("sr", "inpaint")):
        print(f"router weights {a} vs {b}: mean |w_a - w_b| = {float((w[a] - w[b]).abs().mean()):.4f} "
              f"over {len(ffs)} layers x {ffs[0].n_experts} experts")


if __name__ == "__main__":
    main()
