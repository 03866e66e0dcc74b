"""Retrain every proving-ground teacher from scratch and print one table: the trained teacher's quality
metric beside the same architecture with random weights, and the wall and CPU (process) time of each
training. On a shared machine the wall time depends on the other load; the CPU time is what the budget
(all five under 30 min on 2 cores) means on a quiet one.

    OMP_NUM_THREADS=2 python benchmarks/proving.py                    # all five teachers (~30 min on 2 cores)
    python benchmarks/proving.py --jobs 2 --quick                     # two at a time, one thread each
    python benchmarks/proving.py --models mini-sr mini-edit --quick   # fewer eval samples

Each teacher is trained through its plugin's ``train_model`` hook (exactly what ``zoo train ID``
runs) into a temporary folder, loaded back with ``zoo.load(ID, weights=FOLDER)`` and scored with
its eval suite: ``digits`` (prompt accuracy, Fréchet distance) for mini-sd / mini-dit / mini-pixart,
``sr`` (PSNR-Y on the held-out photos, bicubic baseline) for mini-sr, ``edits`` (PSNR on held-out
edit triplets, identity baseline) for mini-edit. The shipped weights are not touched.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

TEACHERS = ["mini-sd", "mini-dit", "mini-pixart", "mini-sr", "mini-edit"]
LONG = {"mini-edit": 3, "mini-sd": 2, "mini-sr": 1}  # scheduling order with --jobs (CPU time of earlier runs)


def suite_of(spec) -> tuple[str, str]:
    """(eval suite, headline metric) of a teacher."""
    if spec.task == "super-resolution":
        return "sr", "psnr_y"
    if spec.task == "image-editing":
        return "edits", "psnr"
    return "digits", "prompt_accuracy"


def evaluate(model, spec, quick: bool) -> dict[str, dict[str, float]]:
    """{backend: {metric: value}} from the teacher's suite."""
    from zoo.evaluate import evaluate as run_suite
    from zoo.proving.photos import split_photos

    suite, _ = suite_of(spec)
    opts: dict = {"progress": False}
    if suite == "digits":
        opts["samples_per_class"] = 4 if quick else 10
    elif suite == "sr":
        opts["photos"] = list(split_photos("test"))
    else:
        opts["count"] = 4 if quick else 16
    out: dict[str, dict[str, float]] = {}
    for r in run_suite(model, suite, spec=spec, **opts):
        out.setdefault(r.get("backend") or "torch", {})[r["metric"]] = r["value"]
    return out


def train_one(mid: str, root: str, threads: int) -> tuple[str, float, float]:
    """Train ``mid`` into ``root/mid`` through its plugin's hook: (id, wall s, process CPU s)."""
    import torch

    import zoo
    from zoo.plugins import get_plugin_manager

    if threads:
        torch.set_num_threads(threads)
    spec = zoo.get_spec(mid)
    config = {"out_dir": str(Path(root) / mid)}
    if suite_of(spec)[0] == "digits":  # checkpoints (and the digits VAE, trained once per run) in the run's folder
        config["work_dir"] = str(Path(root) / "work" / mid)
    print(f"== {mid}: training", file=sys.stderr, flush=True)
    t0, c0 = time.perf_counter(), time.process_time()
    get_plugin_manager().call_owner(spec.plugin, "train_model", spec=spec, config=config)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"== {mid}: trained in {wall:.0f} s wall, {cpu:.0f} s CPU", file=sys.stderr, flush=True)
    return mid, wall, cpu


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=TEACHERS)
    ap.add_argument("--quick", action="store_true", help="fewer eval samples (the training is unchanged)")
    ap.add_argument("--keep", default=None, help="keep the trained folders under this directory")
    ap.add_argument("--jobs", type=int, default=1, help="teachers trained at once, each in its own process with "
                    "one thread (--jobs 2: the 2-core budget's setting); 1: in turn, in this process")
    args = ap.parse_args(argv)
    if args.jobs < 1:
        ap.error("--jobs must be at least 1")

    import torch

    import zoo

    rows = []
    with tempfile.TemporaryDirectory(prefix="zoo-proving-") as tmp:
        root = Path(args.keep) if args.keep else Path(tmp)
        t_all = time.perf_counter()
        if args.jobs == 1:
            trained_at = {mid: train_one(mid, str(root), 0) for mid in args.models}
        else:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            # the longest first, so the pool does not end on one long job
            order = sorted(args.models, key=lambda m: -LONG.get(m, 0))
            with ProcessPoolExecutor(args.jobs, mp_context=mp.get_context("spawn")) as pool:
                trained_at = {r[0]: r for r in pool.map(train_one, order, [str(root)] * len(order), [1] * len(order))}
        total_wall = time.perf_counter() - t_all
        for mid in args.models:
            spec = zoo.get_spec(mid)
            suite, metric = suite_of(spec)
            _, wall, cpu = trained_at[mid]
            trained = evaluate(zoo.load(mid, weights=root / mid, progress=False), spec, args.quick)
            torch.manual_seed(0)
            random = evaluate(zoo.load(mid, pretrained=False), spec, args.quick)
            base = {"sr": "bicubic", "edits": "identity"}.get(suite)
            rows.append((mid, suite, metric, trained["torch"][metric], random["torch"][metric],
                         trained[base][metric] if base else None, wall, cpu))
            print(f"== {mid}: {metric} trained {rows[-1][3]:.2f}, random init {rows[-1][4]:.2f}"
                  + (f", {base} {rows[-1][5]:.2f}" if base else ""), file=sys.stderr, flush=True)

    from zoo.evaluate.records import machine_description

    import os

    threads = 1 if args.jobs > 1 else torch.get_num_threads()
    print(f"\nmachine: {machine_description('cpu')}, {args.jobs} teacher(s) at a time, torch threads {threads} each, "
          f"load average at the end {os.getloadavg()[0]:.1f}")
    print("| teacher | suite | metric | trained | random init | baseline | training wall s | training CPU s |")
    print("|---|---|---|---|---|---|---|---|")
    for mid, suite, metric, tr, rnd, base, wall, cpu in rows:
        b = "" if base is None else f"{base:.2f} ({'bicubic' if suite == 'sr' else 'identity'})"
        print(f"| {mid} | {suite} | {metric} | {tr:.2f} | {rnd:.2f} | {b} | {wall:.0f} | {cpu:.0f} |")
    print(f"| all | | | | | | {total_wall:.0f} (start to last end) | {sum(r[-1] for r in rows):.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
