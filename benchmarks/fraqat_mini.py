"""FraQAT's ablation on the proving ground: fractional schedule (8,7,6,5.5,5,4.75,4.5,4.25,4)
vs the integer schedule (8,7,6,5,4) vs direct 4-bit QAT, at equal budget (the same total
optimiser steps, the same KD data, the same seeds), on a trained teacher (mini-pixart).

Quality is measured against the full-precision teacher's own outputs, as in the paper: PSNR
of each W4A8 model's digits to the teacher's digits drawn from the same noise, prompt accuracy
(a digits classifier reads the asked digit) and the Fréchet distance to the held-out real
digits. Post-training W4A8 (no training) is printed as the floor.

    .venv/bin/python benchmarks/fraqat_mini.py --model mini-pixart
    .venv/bin/python benchmarks/fraqat_mini.py --model mini-pixart-tiny --random-init   # plumbing only
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import sys
import time
from pathlib import Path

PAPER = [8.0, 7.0, 6.0, 5.5, 5.0, 4.75, 4.5, 4.25, 4.0]
PAPER_EPOCHS = [1, 1, 1, 1, 1, 2, 2, 2, 14]


def schedules(total_epochs: int) -> dict[str, tuple[list[float], list[int]]]:
    """Equal budget: every schedule spends ``total_epochs`` epochs (the paper's 25)."""
    return {
        "fractional (FraQAT)": (PAPER, PAPER_EPOCHS),
        "integer 8,7,6,5,4": ([8.0, 7.0, 6.0, 5.0, 4.0], [1, 1, 1, 1, total_epochs - 4]),
        "direct W4 (vanilla QAT)": ([4.0], [total_epochs]),
    }


def psnr(a, b) -> float:
    import numpy as np

    mse = float(((np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)) ** 2).mean())
    return float("inf") if mse == 0 else 10 * math.log10(1.0 / mse)


def quality(pipe, labels, ref, args) -> dict:
    from zoo.proving import digits_frechet, prompt_accuracy, sample_digits

    imgs = sample_digits(pipe, labels, steps=args.sample_steps, seed=args.seed, progress=False)
    return {"psnr_vs_fp": psnr(imgs, ref), "prompt_accuracy": prompt_accuracy(imgs, labels),
            "frechet": digits_frechet(imgs)}


def run(args) -> list[dict]:
    import torch

    import zoo
    from zoo.components import component_module
    from zoo.proving import prompt_for, sample_digits
    from zoo_fraqat.config import FraQATConfig
    from zoo_fraqat.data import pipeline_kd_data
    from zoo_fraqat.layers import quantize_linears
    from zoo_fraqat.train import deploy_ranges, train_fraqat

    torch.manual_seed(args.seed)
    teacher = zoo.load(args.model, pretrained=not args.random_init, progress=False)
    spec = zoo.spec_of(teacher)
    from zoo.capabilities import denoiser_name

    name = denoiser_name(teacher)
    comp = spec.component(name)
    labels = [d for _ in range(args.samples_per_class) for d in range(10)]
    ref = sample_digits(teacher, labels, steps=args.sample_steps, seed=args.seed, progress=False)
    rows = [{"schedule": "full precision (teacher)", **quality(teacher, labels, ref, args), "steps": 0}]
    prompts = [prompt_for(d) for _ in range(args.kd_per_digit) for d in range(10)]
    data = pipeline_kd_data(teacher, spec, name, prompts, args.kd_steps, args.seed, progress=False)
    call = lambda m: component_module(m, comp)  # noqa: E731
    base = dict(act_bits=8.0, lr=args.lr, batch_size=args.batch, steps_per_epoch=args.steps_per_epoch,
                calibration_samples=args.calibration_samples, seed=args.seed, progress=not args.quiet)
    # post-training W4A8: the same deployment (static ranges, frozen scales), no training
    ptq = copy.deepcopy(teacher)
    layers = quantize_linears(getattr(ptq, name), 4.0, 8.0)
    deploy_ranges(layers, call(getattr(ptq, name)), data, FraQATConfig(**base))
    rows.append({"schedule": "post-training W4A8 (no training)", **quality(ptq, labels, ref, args), "steps": 0})
    for label, (bits, epochs) in schedules(sum(PAPER_EPOCHS)).items():
        student = copy.deepcopy(teacher)
        cfg = FraQATConfig(**base, schedule=bits, epochs=epochs)
        t0 = time.perf_counter()
        res = train_fraqat(getattr(student, name), call, data, cfg)
        rows.append({"schedule": label, **quality(student, labels, ref, args),
                     "steps": sum(s.steps for s in res.stages), "final_kd_loss": res.stages[-1].loss,
                     "train_s": round(time.perf_counter() - t0, 1)})
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="mini-pixart")
    p.add_argument("--random-init", action="store_true", help="random weights (plumbing check, not evidence)")
    p.add_argument("--steps-per-epoch", type=int, default=8, help="optimiser steps per epoch (25 epochs per schedule)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-4,
                   help="Adam lr (the paper's 1e-6 is for fine-tuning billion-parameter models for many epochs; "
                        "the miniature's budget is a few hundred steps)")
    p.add_argument("--kd-per-digit", type=int, default=8, help="teacher generations per digit for the KD latents")
    p.add_argument("--kd-steps", type=int, default=20)
    p.add_argument("--calibration-samples", type=int, default=100)
    p.add_argument("--samples-per-class", type=int, default=10)
    p.add_argument("--sample-steps", type=int, default=25)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, help="also write the rows to this JSON file")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    rows = run(args)
    print(f"\nFraQAT ablation on {args.model} ({'RANDOM weights: plumbing only' if args.random_init else 'trained'}), "
          f"W4A8, equal budget of {args.steps_per_epoch * sum(PAPER_EPOCHS)} steps x batch {args.batch}, lr {args.lr:g}")
    print(f"{'schedule':36s} {'PSNR vs fp (dB)':>16s} {'prompt acc':>11s} {'Frechet':>9s} {'steps':>6s}")
    for r in rows:
        print(f"{r['schedule']:36s} {r['psnr_vs_fp']:16.2f} {r['prompt_accuracy']:11.3f} {r['frechet']:9.2f} {r['steps']:6d}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
