"""MTU in miniature: the shipped `mtu-mini` (mini-edit's UNet upcycled and trained on edit + x4 SR +
inpainting at once by `zoo train mtu-mini`) against the single-task teachers on held-out photos.

Per task, PSNR (RGB) / SSIM (Y) on crops of the proving ground's test photos, side by side:
identity (edit, inpaint) or bicubic (sr); the VAE round trip of the target (the ceiling of any model
that denoises in mini-edit's latent, which mtu-mini does); the single-task teachers mini-edit (edit: the editor it is
upcycled from; it was also trained on inpaint and sr, shown too) and mini-sr (sr); mtu-mini at step 0
(the upcycled mini-edit before training: equal to mini-edit by construction) and trained. Also how far
the trained routers moved apart per task.

    .venv/bin/python benchmarks/mtu_miniature.py                       # ~3 min on 2 idle CPU cores
    .venv/bin/python benchmarks/mtu_miniature.py --weights runs/mtu-mini --count 10
    .venv/bin/python benchmarks/mtu_miniature.py --finetune-steps 600  # + three single-task MTU fine-tunes
                                                                       #   of mini-edit (mtu-mini's recipe)
"""
from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "2")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default=None, help="an mtu-mini folder (default: the shipped weights)")
    ap.add_argument("--count", type=int, default=30, help="held-out crops per task (edit: 6 per global edit)")
    ap.add_argument("--steps", type=int, default=10, help="DDIM steps of mtu-mini and mini-edit (their default)")
    ap.add_argument("--finetune-steps", type=int, default=0,
                    help="also train three single-task MTU fine-tunes of mini-edit for this many steps each")
    args = ap.parse_args()

    import zoo
    from zoo.proving import edits as E
    from zoo_mtu.miniature import TASKS, heldout, router_distances, run_editor, run_mtu, run_upscaler, vae_round_trip

    spec = zoo.get_spec("mtu-mini")
    mtu = zoo.load("mtu-mini", weights=args.weights, progress=False)
    editor = zoo.load("mini-edit", progress=False)
    upscaler = zoo.load("mini-sr", progress=False)
    step0 = zoo.load("mini-edit", techniques={"mtu": {"tasks": list(TASKS)}}, progress=False)
    sets = {t: heldout(t, spec.resolution, args.count) for t in TASKS}

    per_op = {}  # the edit task's per-operation scores

    def score(outs, ds, name):
        res = E.score(outs, ds)
        if len(res) > 2:
            per_op[name] = res
        return res["all"]

    rows = {}
    for t, ds in sets.items():
        rows[t] = {"identity" if t != "sr" else "bicubic": score(ds.inputs, ds, "identity"),
                   "VAE round trip": score(vae_round_trip(mtu, ds), ds, "VAE round trip"),
                   "mini-edit": score(run_editor(editor, ds, args.steps), ds, "mini-edit"),
                   "mtu step 0": score(run_mtu(step0, t, ds, args.steps), ds, "mtu step 0"),
                   "mtu-mini": score(run_mtu(mtu, t, ds, args.steps), ds, "mtu-mini")}
        if t == "sr":
            rows[t]["mini-sr"] = score(run_upscaler(upscaler, ds), ds, "mini-sr")
    if args.finetune_steps:
        from zoo_mtu.train import parse_config, train

        recipe = {**spec.config["train"], "steps": args.finetune_steps, "progress": True}
        for t in TASKS:
            single = zoo.load("mini-edit", techniques={"mtu": {"tasks": [t]}}, progress=False)
            train(single, parse_config({**recipe, "tasks": [t]}))
            rows[t]["single-task MTU"] = score(run_mtu(single, t, sets[t], args.steps), sets[t], "single-task MTU")

    training = _training_record(args.weights)
    print(f"\nMTU miniature: {spec.id} ({training}) on held-out photos (astronaut, coffee, flower), {args.count} "
          f"crops of {spec.resolution}px per task, DDIM {args.steps} steps, guidance 1")
    cols = ["identity", "bicubic", "VAE round trip", "mini-edit", "mini-sr", "single-task MTU", "mtu step 0", "mtu-mini"]
    cols = [c for c in cols if any(c in r for r in rows.values())]
    print(f"{'task':8s} " + " ".join(f"{c:>17s}" for c in cols) + "   (PSNR dB / SSIM)")
    for t in TASKS:
        cells = [f"{rows[t][c]['psnr']:8.2f} / {rows[t][c]['ssim']:.3f}" if c in rows[t] else f"{'-':>17s}" for c in cols]
        print(f"{t:8s} " + " ".join(f"{c:>17s}" for c in cells))
    print("edit per operation (PSNR dB): " + "; ".join(
        f"{op}: " + ", ".join(f"{name} {res[op]['psnr']:.2f}" for name, res in per_op.items())
        for op in per_op["identity"] if op != "all"))
    for (a, b), d in router_distances(mtu.unet).items():
        print(f"router weights {a} vs {b}: mean |w_a - w_b| = {d:.4f} (uniform at step 0: 0)")


def _training_record(weights) -> str:
    """How the loaded weights were trained (their training.json), in a few words."""
    import json
    from pathlib import Path

    import zoo
    from zoo import hub

    rec = Path(weights or hub.resolve(zoo.get_spec("mtu-mini"))) / "training.json"
    if not rec.exists():
        return "no training.json"
    r = json.loads(rec.read_text())
    c = r.get("config", {})
    return f"{c.get('steps')} steps x batch {c.get('batch_size')} per task, lr {c.get('lr')}, {r.get('wall_s')} s"


if __name__ == "__main__":
    main()
