"""Wall time of the NPU-readiness lint over registered -tiny models: one `lint(id)` per model in
turn as the slow test did it (torch.onnx's own decomposition pass and optimiser matcher, no
memo) vs `zoo.export.lint_models` (each distinct component once, in worker processes, the
decomposition pass skipped where it is a no-op, the quick matcher). Also checks that both give
the same issues per model.

    python benchmarks/lint_tiny.py                          # every -tiny model, both ways
    python benchmarks/lint_tiny.py --ids sd15-tiny nanosd-tiny --workers 2 --skip-serial

Each way runs in a fresh process (one-time set-up such as torch.onnx's registry paid by both).
Prints the wall seconds of each way and the CPU seconds it used (its process and its worker
processes): on a loaded machine the CPU seconds are what the run costs, the wall seconds what it
took with everyone else's work in between. The two ways run one after the other (not interleaved:
one serial run over every -tiny model takes many minutes).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time


def _cpu() -> float:
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                  resource.getrusage(resource.RUSAGE_CHILDREN)))


def _one_way(way: str, ids: list[str], workers: int) -> None:
    """Run one way in this (fresh) process and print its times and reports as JSON."""
    import contextlib

    t0, c0 = time.perf_counter(), _cpu()
    if way == "models":
        from zoo.export.lint_models import lint_models

        reports = lint_models(ids, workers=workers, progress=False)
    else:  # as the slow test did it: no memo, torch.onnx's own decomposition pass and matcher
        import importlib

        lint_module = importlib.import_module("zoo.export.lint")  # the module (zoo.export.lint is the function)
        rewriter = importlib.import_module("zoo.export.onnx_rewriter")

        lint_module.decompose_only_if_needed = contextlib.nullcontext
        rewriter.quick_multi_output_match = contextlib.nullcontext
        reports = {i: lint_module.lint(i) for i in ids}
    # the CPU of a fresh process: its imports, the workers' imports and every one-time set-up included
    print(json.dumps({"wall": time.perf_counter() - t0, "cpu": _cpu() - c0, "cpu_total": _cpu(),
                      "reports": {i: r.to_dict() for i, r in reports.items()}}))


def main() -> None:
    import zoo

    tiny = [s.id for s in zoo.get_registry().list() if s.components and s.id.split(".")[0].endswith("-tiny")]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ids", nargs="*", default=tiny)
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--skip-serial", action="store_true", help="only time lint_models")
    ap.add_argument("--way", choices=["models", "serial"], help=argparse.SUPPRESS)  # the child's job
    args = ap.parse_args()
    if args.way:
        return _one_way(args.way, args.ids, args.workers)
    print(f"{len(args.ids)} models, {sum(len(zoo.get_spec(i).components) for i in args.ids)} components; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}", flush=True)
    found = {}
    for way in ["models"] + ([] if args.skip_serial else ["serial"]):
        out = subprocess.run([sys.executable, __file__, "--way", way, "--workers", str(args.workers), "--ids", *args.ids],
                             stdout=subprocess.PIPE, text=True, check=True).stdout  # the child's stderr shows
        found[way] = json.loads(out.strip().splitlines()[-1])
        name = f"lint_models (workers={args.workers})" if way == "models" else "lint(id) per model, in turn"
        print(f"{name}: {found[way]['wall']:.1f} s wall, {found[way]['cpu']:.1f} CPU s "
              f"({found[way]['cpu_total']:.1f} CPU s with the process start); load average {os.getloadavg()[0]:.1f}",
              flush=True)
    if "serial" in found:
        m, s_ = found["models"], found["serial"]
        print(f"serial / lint_models: wall {s_['wall'] / m['wall']:.2f}, CPU {s_['cpu'] / m['cpu']:.2f}")
        print("same issues per model:", "yes" if m["reports"] == s_["reports"] else "NO")
    for i, r in found["models"]["reports"].items():
        if not r["ok"]:
            print(f"{i}: not ready: {[(x['component'], x['rule'], x['message'][:120]) for x in r['issues']]}")


if __name__ == "__main__":
    main()
