"""TOC-SR in miniature on the proving ground: retrain tocsr-x4-mini from scratch (the whole recipe,
``zoo_tocsr.mini``: expand -> compact by FwGD + epsilon-constrained search -> one-step distil, from
the shipped multi-step teacher mini-sr) and compare on held-out photos: PSNR/SSIM (Y, 4-px border
shaved) of bicubic (PIL: the SR suite's baseline; and torch's, the student's own input), the
multi-step teacher and the one-step student, UNet calls per image, the teacher / student wall-time
ratio (interleaved A B A B in one run), and each training stage's wall and process CPU seconds.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/tocsr_mini.py [--out runs/tocsr-x4-mini-bench]
        [--json OUT] [--teacher-weights DIR] [--skip-train] [--weights DIR]

``--out`` must not hold an earlier run (the retrain is from scratch); ``--skip-train`` evaluates the
pipeline an earlier run left in ``--out`` (and prints its recorded stage times); ``--weights`` evaluates
a pipeline folder instead (e.g. the shipped one) without training.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/tocsr-x4-mini-bench")
    ap.add_argument("--teacher-weights", default=None, help="mini-sr weights folder (default: the shipped ones)")
    ap.add_argument("--teacher-steps", type=int, default=4, help="mini-sr's DDIM steps in the comparison")
    ap.add_argument("--count", type=int, default=48, help="held-out 64x64 HR patches")
    ap.add_argument("--skip-train", action="store_true", help="evaluate the pipeline already in --out")
    ap.add_argument("--weights", default=None, help="evaluate this pipeline folder (no training)")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    out = Path(a.out)
    if not (a.skip_train or a.weights) and any(out.glob("*.done.json")):
        ap.error(f"{out} holds an earlier run; the retrain is from scratch: choose another --out (or --skip-train)")

    import numpy as np
    import torch
    from PIL import Image

    import zoo
    from zoo.evaluate.latency import time_interleaved
    from zoo.evaluate.sr import psnr_y, ssim_y
    from zoo.proving.photos import sr_pairs, upscale_batch
    from zoo_tocsr.mini import STAGES, MiniConfig, load_teacher, train_mini

    cfg = MiniConfig(out_dir=out, teacher_weights=a.teacher_weights)  # the recipe's defaults: one command
    load0 = os.getloadavg()
    t0 = time.process_time(), time.perf_counter()
    folder = Path(a.weights) if a.weights else out / "pipeline" if a.skip_train else train_mini(cfg)
    train_cpu, train_wall = time.process_time() - t0[0], time.perf_counter() - t0[1]
    load1 = os.getloadavg()
    student = zoo.load("tocsr-x4-mini", weights=str(folder))
    student.set_progress_bar_config(disable=True)
    teacher = load_teacher(cfg)

    lr, hr = sr_pairs("test", 64, a.count, 4, seed=0)
    imgs = [Image.fromarray(x) for x in lr]
    # the student's own input: torch's bicubic (cubic a=-0.75, sharper than PIL's a=-0.5 baseline)
    x = torch.from_numpy(lr).permute(0, 3, 1, 2).float() / 127.5 - 1
    tb = torch.nn.functional.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False).clamp(-1, 1)
    outs = {
        "bicubic": upscale_batch(lr),
        "torch_bicubic": ((tb + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy(),
        "teacher": np.stack([np.asarray(im) for im in teacher(image=imgs, num_inference_steps=a.teacher_steps,
                                                               generator=torch.Generator().manual_seed(0)).images]),
        "student": np.stack([np.asarray(im) for im in student(imgs).images]),
    }
    # UNet calls for one image (a batched call makes one call for the whole batch)
    calls = {"student": 0, "teacher": 0}
    h1 = student.unet.register_forward_hook(lambda *_: calls.__setitem__("student", calls["student"] + 1))
    h2 = teacher.unet.register_forward_hook(lambda *_: calls.__setitem__("teacher", calls["teacher"] + 1))
    student(imgs[:1])
    teacher(image=imgs[:1], num_inference_steps=a.teacher_steps, generator=torch.Generator().manual_seed(0))
    h1.remove()
    h2.remove()
    scores = {k: {"psnr_y": float(np.mean([psnr_y(o, g, 4) for o, g in zip(v, hr)])),
                  "ssim_y": float(np.mean([ssim_y(o, g, 4) for o, g in zip(v, hr)]))} for k, v in outs.items()}
    one = [imgs[0]]
    lat = time_interleaved({
        "teacher": lambda: teacher(image=one, num_inference_steps=a.teacher_steps, generator=torch.Generator().manual_seed(0)),
        "student": lambda: student(one),
    }, warmup=2, repeats=10)
    ratio = lat["teacher"].median_ms / lat["student"].median_ms
    print(f"held-out photos {a.count} x 64x64 HR patches (x4 from 16x16), Y channel, 4-px border shaved")
    print(f"{'method':28s} {'PSNR':>7s} {'SSIM':>7s} {'UNet calls/image':>17s}")
    print(f"{'bicubic':28s} {scores['bicubic']['psnr_y']:7.2f} {scores['bicubic']['ssim_y']:7.4f} {0:17d}")
    print(f"{'torch bicubic (its input)':28s} {scores['torch_bicubic']['psnr_y']:7.2f} "
          f"{scores['torch_bicubic']['ssim_y']:7.4f} {0:17d}")
    print(f"{f'mini-sr ({a.teacher_steps} DDIM steps)':28s} {scores['teacher']['psnr_y']:7.2f} "
          f"{scores['teacher']['ssim_y']:7.4f} {calls['teacher']:17d}")
    print(f"{'tocsr-x4-mini (one step)':28s} {scores['student']['psnr_y']:7.2f} {scores['student']['ssim_y']:7.4f} "
          f"{calls['student']:17d}")
    print(f"wall time per image, median (interleaved): teacher {lat['teacher'].median_ms:.1f} ms, student "
          f"{lat['student'].median_ms:.1f} ms, ratio {ratio:.2f}x")
    stages = {s: json.loads((out / f"{s}.done.json").read_text()) for s in STAGES
              if not a.weights and (out / f"{s}.done.json").is_file()}
    for s, d in stages.items():
        print(f"training stage {s:8s} {d.get('wall_s', float('nan')):7.1f} s wall {d.get('cpu_s', float('nan')):7.1f} s CPU")
    if stages and not a.skip_train:
        print(f"training total: {train_wall:.0f} s wall, {train_cpu:.0f} s process CPU (torch threads "
              f"{torch.get_num_threads()}); load average {load0[0]:.2f} before, {load1[0]:.2f} after")
    if "onestep" in stages:
        print(f"student blocks (search): {json.dumps(stages['onestep'].get('surrogates'))}")
    if a.json:
        from zoo.atomic import write_text

        write_text(a.json, json.dumps({"scores": scores, "unet_calls_per_image": calls,
                                       "latency_ms": {k: v.as_dict() for k, v in lat.items()}, "speedup": ratio,
                                       "stages": stages, "train_wall_s": None if a.skip_train or a.weights else train_wall,
                                       "train_cpu_s": None if a.skip_train or a.weights else train_cpu}, indent=1))


if __name__ == "__main__":
    main()
