"""Attention-map reuse on a proving-ground teacher (arXiv 2401.01008's comparison, in miniature).

    python benchmarks/attention_reuse_mini.py                         # mini-sd, DDIM 20 steps, R = 10
    python benchmarks/attention_reuse_mini.py --model mini-pixart      # the DiT, beside diffusers' PAB
    python benchmarks/attention_reuse_mini.py --model sd15-tiny --random-init --size 64 --eval 4 --cal 2 \
        --max-evals 4 --repeats 1                                     # plumbing only (random weights)

1. PHAST is searched on calibration conditions (seeds from 1000) from HURRY(R); both are then
   scored on held-out evaluation conditions (seeds from 0): PSNR (Y) against the full-compute
   T-step output.
2. The paper's equal-latency comparison: T steps with R reuse vs ``--plain-steps`` plain steps,
   beside diffusers' PyramidAttentionBroadcast (its defaults) run through the same harness:
   PSNR vs the T-step output, digit prompt accuracy (proving-ground digits classifier), MACs of
   one generation (whole pipeline, attention included) and wall time of one generation
   (batch 1, interleaved A B C ... per round, median over rounds), peak memory of the map cache.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="mini-sd")
    ap.add_argument("--random-init", action="store_true", help="random weights (plumbing runs on -tiny models)")
    ap.add_argument("--sampler", default="DDIMScheduler")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--reuse", type=int, default=10)
    ap.add_argument("--plain-steps", type=int, default=13)
    ap.add_argument("--cal", type=int, default=20, help="calibration conditions for the PHAST search")
    ap.add_argument("--eval", type=int, default=50, help="held-out evaluation conditions")
    ap.add_argument("--max-evals", type=int, default=120, help="PHAST search budget (schedules scored)")
    ap.add_argument("--schedule-file", default=None, help="use this stored PHAST schedule instead of searching")
    ap.add_argument("--save", default=None, help="folder to write the searched PHAST schedule to (JSON)")
    ap.add_argument("--guidance-scale", type=float, default=None)
    ap.add_argument("--size", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=5, help="timing rounds (each times every configuration once)")
    ap.add_argument("--no-pab", action="store_true")
    args = ap.parse_args()

    import numpy as np
    import torch

    import zoo
    import zoo_attnreuse
    from zoo.evaluate.macs import count_macs
    from zoo.evaluate.records import machine_description
    from zoo_attnreuse import harness
    from zoo_attnreuse.pab import apply_pab
    from zoo_attnreuse.phast import phast_schedule
    from zoo_attnreuse.schedules import ReuseConfig, save_schedule

    spec = zoo.get_spec(args.model)
    pipe = zoo.load(args.model, pretrained=not args.random_init)
    harness.use_sampler(pipe, args.sampler)
    pipe.set_progress_bar_config(disable=True)
    total = harness.denoiser_calls(pipe, args.steps)
    kw = {"size": args.size or spec.resolution}
    if args.guidance_scale is not None:
        kw["guidance_scale"] = args.guidance_scale
    cal = harness.conditions(spec, args.cal)
    ev = harness.conditions(spec, args.eval)
    print(f"{args.model} ({'random init' if args.random_init else 'trained weights'}), {type(pipe.scheduler).__name__} "
          f"{args.steps} steps = {total} denoiser calls, R = {args.reuse}; {len(cal)} calibration / {len(ev)} "
          f"evaluation conditions; {machine_description()}, torch threads {torch.get_num_threads()}\n")

    # 1. PHAST vs HURRY at the same reuse count
    hurry_steps = zoo_attnreuse.hurry(total, args.reuse)
    if args.schedule_file:
        data = zoo_attnreuse.load_schedule(args.model, type(pipe.scheduler).__name__, total, args.reuse, args.schedule_file)
        note = f"stored in {args.schedule_file}"
    else:
        data = phast_schedule(pipe, args.model, cal, steps=args.steps, reuse=args.reuse, seed=1000,
                              max_evals=args.max_evals, **kw)
        note = (f"searched here: {data['evaluations']} schedules scored in {data['search_seconds']:.0f} s, "
                f"{'local optimum' if data['local_optimum'] else 'budget reached'}")
        if args.save:
            data["calibration"]["pretrained"] = not args.random_init
            note += f", saved to {save_schedule(data, Path(args.save))}"
    phast_steps = data["reuse_steps"]
    ctrl = zoo_attnreuse.apply(pipe, {"policy": "none"}, model_id=args.model)

    def schedule(steps):
        ctrl.cfg = ReuseConfig(policy="steps", steps=list(steps))

    def render(conds, seed, steps=args.steps):
        return harness.render(pipe, conds, seed, steps, **kw)

    schedule([])
    ref_cal, ref_ev = render(cal, 1000), render(ev, 0)
    print(f"HURRY({args.reuse}) reuse steps: {hurry_steps}\nPHAST reuse steps:     {phast_steps} ({note})\n")
    print("| schedule | PSNR vs full, calibration (dB) | PSNR vs full, held-out (dB) |\n|---|---|---|")
    for name, steps in (("HURRY", hurry_steps), ("PHAST", phast_steps)):
        schedule(steps)
        print(f"| {name}({args.reuse}) | {harness.mean_psnr(render(cal, 1000), ref_cal):.2f} | "
              f"{harness.mean_psnr(render(ev, 0), ref_ev):.2f} |")

    # 2. Equal-latency comparison on the held-out conditions
    pab_handle = None

    def configure(name):
        nonlocal pab_handle
        if pab_handle is not None:
            pab_handle.remove()
            pab_handle = None
        schedule({"HURRY": hurry_steps, "PHAST": phast_steps}.get(name, []))
        if name == "PAB":
            pab_handle = apply_pab(pipe)
        return args.plain_steps if name == "plain" else args.steps

    names = ["full", "HURRY", "PHAST", "plain"] + ([] if args.no_pab else ["PAB"])
    digits = "proving-ground" in spec.tags and spec.task == "text-to-image" or spec.task == "class-conditional-generation"
    rows = {}
    for name in names:
        steps = configure(name)
        imgs = render(ev, 0, steps)
        acc = None
        if digits and not args.random_init:
            from zoo.proving import prompt_accuracy

            acc = prompt_accuracy(np.stack(imgs) / 255.0, [c if isinstance(c, int) else zoo.proving.label_of(c) for c in ev])
        macs = count_macs(lambda: render(ev[:1], 0, steps), {}, mode="real").total
        rows[name] = {"steps": steps, "psnr": harness.mean_psnr(imgs, ref_ev) if name != "full" else float("inf"),
                      "acc": acc, "gmacs": macs / 1e9, "cache_mb": 0.0, "times": []}
    for _ in range(args.repeats):  # interleaved: every configuration once per round
        for name in names:
            steps = configure(name)
            t0 = time.perf_counter()
            render(ev[:1], 0, steps)
            rows[name]["times"].append(time.perf_counter() - t0)
            rows[name]["cache_mb"] = ctrl.peak_bytes / 2**20  # maps of one image (its CFG batch)
    configure("full")
    ctrl.remove()
    base = statistics.median(rows["full"]["times"])
    print(f"\n| configuration | steps | PSNR vs {args.steps}-step full (dB) | digit prompt accuracy | GMACs / image | "
          f"wall time / image (ms, median of {args.repeats}) | time vs full | map cache peak / image (MiB) |")
    print("|---|---|---|---|---|---|---|---|")
    labels = {"full": "full compute", "HURRY": f"HURRY({args.reuse})", "PHAST": f"PHAST({args.reuse})",
              "plain": "plain (fewer steps)", "PAB": "diffusers PAB (spatial skip 2, t 100-800)"}
    for name in names:
        r = rows[name]
        med = statistics.median(r["times"])
        acc = "n/a" if r["acc"] is None else f"{r['acc']:.3f}"
        print(f"| {labels[name]} | {r['steps']} | {r['psnr']:.2f} | {acc} | {r['gmacs']:.4f} | {med * 1e3:.1f} | "
              f"{med / base:.2f} | {r['cache_mb']:.3f} |")


if __name__ == "__main__":
    main()
