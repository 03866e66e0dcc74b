"""EDiT on the proving ground: the trained mini-pixart (digits text-to-image) as the teacher, converted
with ``edit`` (every image self-attention linear + compressed) and distilled briefly with the recipe
(task + output KD + per-layer attention-output KD, progressive 16 -> 32 px). Prints the digits
classifier's prompt accuracy and the Fréchet distance to held-out real digits for the teacher, the
converted model before distillation and the distilled one (same seeds, same sampler), and the
teacher-aligned noise-prediction error on held-out noised latents before/after each stage.

    nice -n 15 python benchmarks/edit_miniature.py                 # a few minutes on 2 CPU cores
    python benchmarks/edit_miniature.py --steps 20 --per-digit 5   # plumbing
"""
from __future__ import annotations

import argparse
import json


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=150, help="optimiser steps per resolution")
    ap.add_argument("--resolutions", type=int, nargs="+", default=[16, 32])
    ap.add_argument("--samples", type=int, default=200, help="teacher samples per resolution (clean latents)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--per-digit", type=int, default=20, help="evaluation images per digit")
    ap.add_argument("--sample-steps", type=int, default=20, help="DDIM steps for every evaluated image")
    ap.add_argument("--out", default=None, help="write the distilled weights + log here")
    args = ap.parse_args(argv)

    from pathlib import Path

    import zoo
    from zoo.proving import PROMPTS, digits_frechet, prompt_accuracy, sample_digits
    from zoo_edit.distill import parse, save, train_edit

    labels = [d for d in range(10) for _ in range(args.per_digit)]

    def score(pipe) -> dict:
        imgs = sample_digits(pipe, labels, steps=args.sample_steps, seed=1234, progress=False)
        return {"prompt_accuracy": prompt_accuracy(imgs, labels), "frechet": digits_frechet(imgs)}

    rows = {"teacher": score(zoo.load("mini-pixart")),
            "converted, before distillation": score(zoo.load("mini-pixart", techniques=["edit"]))}
    cfg = parse({"steps": args.steps, "samples": args.samples, "batch_size": args.batch_size, "lr": args.lr,
                 "sample_steps": args.sample_steps, "eval_batch": 32})
    pipe, log = train_edit(zoo.load("mini-pixart"), "edit", cfg, args.resolutions, list(PROMPTS))
    rows["distilled (EDiT)"] = score(pipe)
    if args.out:
        save(pipe, log, Path(args.out))
    print(f"mini-pixart + edit, {args.steps} steps x {args.resolutions} px, {len(labels)} images per model, "
          f"DDIM {args.sample_steps} steps")
    for st in log["stages"]:
        print(f"  stage {st['resolution']} px: teacher-aligned MSE {st['aligned_mse_before']:.4f} -> "
              f"{st['aligned_mse_after']:.4f}, loss {st['loss'][0]:.4f} -> {sum(st['loss'][-20:]) / len(st['loss'][-20:]):.4f}")
    print(f"{'model':32s} {'prompt acc':>10s} {'Frechet':>9s}")
    for name, r in rows.items():
        print(f"{name:32s} {100 * r['prompt_accuracy']:9.1f}% {r['frechet']:9.2f}")
    result = {"rows": rows, "stages": [{k: v for k, v in s.items() if k != "loss"} for s in log["stages"]]}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
