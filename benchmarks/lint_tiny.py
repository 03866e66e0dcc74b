"""Wall time of the NPU-readiness lint over registered -tiny models: one `lint(id)` per model in
turn as the slow test did it (torch.onnx's own decomposition pass and optimiser matcher, no
memo) vs `zoo.export.lint_models` (each distinct component once, in worker processes, the
decomposition pass skipped where it is a no-op, the quick matcher). Also checks that both give
the same issues per model.

    python benchmarks/lint_tiny.py                          # every -tiny model, both ways
    python benchmarks/lint_tiny.py --ids sd15-tiny nanosd-tiny --workers 2 --skip-serial

Prints the wall seconds of each way and the CPU seconds it used (this process and its worker
processes): on a loaded machine the CPU seconds are what the run costs, the wall seconds what it
took with everyone else's work in between. The two ways run one after the other (not interleaved:
one serial run over every -tiny model takes many minutes).
"""
from __future__ import annotations

import argparse
import os
import resource
import time


def _cpu() -> float:
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                  resource.getrusage(resource.RUSAGE_CHILDREN)))


def main() -> None:
    import zoo
    from zoo.export.lint import lint
    from zoo.export.lint_models import lint_models

    tiny = [s.id for s in zoo.get_registry().list() if s.components and s.id.split(".")[0].endswith("-tiny")]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ids", nargs="*", default=tiny)
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--skip-serial", action="store_true", help="only time lint_models")
    args = ap.parse_args()
    print(f"{len(args.ids)} models, {sum(len(zoo.get_spec(i).components) for i in args.ids)} components; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")

    t0, c0 = time.perf_counter(), _cpu()
    fast = lint_models(args.ids, workers=args.workers)
    t_fast, c_fast = time.perf_counter() - t0, _cpu() - c0
    print(f"lint_models (workers={args.workers}): {t_fast:.1f} s wall, {c_fast:.1f} CPU s")
    if not args.skip_serial:
        import contextlib

        import zoo.export.lint as lint_module
        import zoo.export.onnx_rewriter as rewriter

        lint_module.decompose_only_if_needed = contextlib.nullcontext  # as before: no shortcut
        rewriter.quick_multi_output_match = contextlib.nullcontext
        t0, c0 = time.perf_counter(), _cpu()
        slow = {i: lint(i) for i in args.ids}
        t_slow, c_slow = time.perf_counter() - t0, _cpu() - c0
        print(f"lint(id) per model, in turn: {t_slow:.1f} s wall, {c_slow:.1f} CPU s "
              f"(serial / lint_models: wall {t_slow / t_fast:.2f}, CPU {c_slow / c_fast:.2f})")
        differ = [i for i in args.ids if slow[i].to_dict() != fast[i].to_dict()]
        print("same issues per model:", "yes" if not differ else f"NO: {differ}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    for i in args.ids:
        if not fast[i].ok:
            print(fast[i].format())


if __name__ == "__main__":
    main()
