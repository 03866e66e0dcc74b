"""EdgeDiT in miniature on the proving ground's trained class-conditional DiT (``mini-dit``):
convert it into EdgeDiT's class, distil every proxy (merged pairs, half MLP, narrow attention)
by FwKD through ``zoo.distill``, search error vs per-block CPU latency (GP, LogEHVI), pick a
pruned student, fine-tune it with the epsilon loss on the digits, and print

- per proxy: teacher-aligned error of the teacher with that one block replaced, undistilled
  (sliced from the teacher) vs distilled;
- per model (teacher, pruned without distillation, distilled, distilled + fine-tuned): params,
  MACs, teacher-aligned error, digit prompt accuracy and Fréchet distance (digits classifier
  features; the real-vs-real floor beside them).

    python benchmarks/edgedit_miniature.py                      # the evidence run (trained mini-dit)
    python benchmarks/edgedit_miniature.py --random --quick     # plumbing on a random-init mini-dit

Results also land in ``{out}/miniature.json``. Rerunning with --resume reuses finished stages.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

QUICK = {"block_steps": 6, "finetune_steps": 4, "trials": 5, "startup": 3, "capture_batches": 2,
         "samples_per_class": 1, "sample_steps": 2, "eval_batches": 1}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mini-dit", help="the DiTPipeline teacher (default: mini-dit)")
    ap.add_argument("--random", action="store_true", help="random-init teacher: plumbing only, no evidence")
    ap.add_argument("--quick", action="store_true", help="a few steps of everything (plumbing)")
    ap.add_argument("--out", default="runs/edgedit-miniature")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--block-steps", type=int, default=400)
    ap.add_argument("--finetune-steps", type=int, default=500)
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--startup", type=int, default=10)
    ap.add_argument("--capture-batches", type=int, default=32)
    ap.add_argument("--samples-per-class", type=int, default=20)
    ap.add_argument("--sample-steps", type=int, default=25)
    ap.add_argument("--eval-batches", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.quick:
        for k, v in QUICK.items():
            setattr(args, k, v)
    return args


def digits_latents(pipe: Any, batch: int = 100) -> dict[str, Any]:
    """The proving ground's training digits as the teacher VAE's latents (posterior means, scaled)."""
    import torch

    from zoo.proving import digits_split

    split = digits_split("train")
    sf = pipe.vae.config.scaling_factor
    with torch.no_grad():
        lat = torch.cat([pipe.vae.encode(split.images[i:i + batch]).latent_dist.mean * sf
                         for i in range(0, len(split.labels), batch)])
    return {"latents": lat.contiguous(), "labels": split.labels.clone()}


def miniature_spec(model_id: str) -> Any:
    """edgedit's recipe pointed at another teacher: no variant choices (the search picks them)."""
    import zoo

    base = zoo.get_spec("edgedit-tiny")
    return base.model_copy(update={"id": "edgedit-mini", "config": {**base.config, "teacher": model_id, "arch": None}})


def recipe_config(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "out_dir": args.out, "device": "cpu", "seed": args.seed, "resume": args.resume, "student": "search",
        "dataset": {"n_samples": 1500, "n_eval": 100},
        "capture": {"n_batches": args.capture_batches, "batch_size": 32},
        "blocks": {"steps": args.block_steps, "lr": 1e-3, "lr_schedule": "cosine", "batch_size": 32,
                   "checkpoint_every": max(1, args.block_steps // 2), "log_every": max(1, args.block_steps // 10)},
        # cost: MACs from the per-block table; at 16 tokens a block runs in well under a millisecond and its
        # CPU time on the shared machine is noise (the full-size recipe searches on measured latency)
        "search": {"n_trials": args.trials, "n_startup_trials": args.startup, "seed": args.seed, "cost": "macs"},
        "latency": "none",
        "eval_batches": args.eval_batches, "eval_batch_size": 32,
        "finetune": {"steps": args.finetune_steps, "lr": 1e-4, "lr_schedule": "cosine", "batch_size": 32,
                     "checkpoint_every": max(1, args.finetune_steps // 2), "log_every": max(1, args.finetune_steps // 10)},
    }


def quality(transformer: Any, pipe: Any, args: argparse.Namespace) -> dict[str, float]:
    from diffusers import DiTPipeline

    from zoo.proving import NUM_CLASSES, digits_frechet, prompt_accuracy, sample_digits

    p = DiTPipeline(transformer=transformer.eval(), vae=pipe.vae, scheduler=pipe.scheduler)
    labels = [c for _ in range(args.samples_per_class) for c in range(NUM_CLASSES)]
    images = sample_digits(p, labels, steps=args.sample_steps, seed=args.seed + 1, progress=False)
    return {"prompt_accuracy": float(prompt_accuracy(images, labels)), "frechet": float(digits_frechet(images))}


def cost(transformer: Any) -> dict[str, float]:
    import torch

    from zoo.evaluate.macs import profile_module

    c = transformer.config
    x = {"hidden_states": torch.randn(1, c.in_channels, c.sample_size, c.sample_size),
         "timestep": torch.tensor([500]), "class_labels": torch.tensor([3])}
    params, macs = profile_module(transformer, x)
    return {"params": float(params), "macs": float(macs.total)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    import torch

    import zoo
    from zoo.proving import digits_frechet, digits_split
    from zoo_edgedit.space import MERGE, proxies
    from zoo_edgedit.train import Run, parse_config, train_edgedit

    args = parse(argv)
    t0 = time.perf_counter()
    torch.manual_seed(args.seed)
    pipe = zoo.load(args.model, pretrained=not args.random)
    data = digits_latents(pipe)
    spec = miniature_spec(args.model)
    cfg = recipe_config(args)
    out = train_edgedit(spec, cfg, teacher_pipe=pipe, data=data)
    run = Run(spec, parse_config({**cfg, "resume": True}), teacher_pipe=pipe, data=data, progress=False)
    res: dict[str, Any] = {"teacher": args.model, "random_teacher": args.random, "proxies": {}, "models": {}}

    print(f"\nproxies of {args.model} ({run.n_layers} blocks): teacher-aligned error with one block replaced")
    print(f"{'proxy':28s} {'undistilled':>12s} {'distilled':>12s}")
    wins = 0
    for stage, option in proxies(run.n_layers):
        arch = ["full"] * run.n_layers
        arch[run.stage_names.index(stage)] = option
        e0 = run.fidelity(run.student(arch, "teacher"))
        e1 = run.fidelity(run.student(arch))
        wins += e1 < e0
        name = f"{stage} {option}" + (" (pair)" if option == MERGE else "")
        res["proxies"][name] = {"undistilled": e0, "distilled": e1}
        print(f"{name:28s} {e0:12.5f} {e1:12.5f}")
    print(f"distilled beats undistilled on {wins} of {len(res['proxies'])} proxies")

    report = json.loads((out / "report.json").read_text())
    arch = [report["arch"][n] for n in run.stage_names]
    res["arch"] = arch
    from diffusers import DiTPipeline

    finetuned = DiTPipeline.from_pretrained(str(out / "pipeline")).transformer
    models = {"teacher": run.teacher, "pruned, undistilled": run.student(arch, "teacher"),
              "pruned, distilled": run.student(arch), "distilled + fine-tuned": finetuned}
    floor = digits_frechet((digits_split("train").images[: 10 * args.samples_per_class] + 1.0) / 2.0)
    print(f"\npicked student: {arch}")
    print(f"{'model':24s} {'params':>9s} {'MMACs':>8s} {'error':>9s} {'accuracy':>9s} {'Frechet':>9s}")
    for name, m in models.items():
        row = {**cost(m), "error": run.fidelity(m) if name != "teacher" else 0.0, **quality(m, pipe, args)}
        res["models"][name] = row
        print(f"{name:24s} {row['params'] / 1e3:8.1f}K {row['macs'] / 1e6:8.2f} {row['error']:9.5f} "
              f"{100 * row['prompt_accuracy']:8.1f}% {row['frechet']:9.3f}")
    print(f"Frechet floor (real train vs real held-out, same count): {floor:.3f}")
    res["frechet_floor"] = float(floor)
    res["seconds"] = time.perf_counter() - t0
    print(f"total {res['seconds']:.0f} s" + ("  [random teacher: plumbing only, not evidence]" if args.random else ""))
    tmp = out / "miniature.json.partial"
    tmp.write_text(json.dumps(res, indent=1))
    tmp.replace(out / "miniature.json")
    return res


if __name__ == "__main__":
    main()
    sys.exit(0)
