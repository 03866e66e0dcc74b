"""`zoo bench`: params, MACs and CPU latency of every registered full-size model, with the
papers' figures beside them (table, JSON and Pareto plot). Offline, no weights."""
from __future__ import annotations

from .argtypes import nonneg_int, positive_int


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help="cost table + Pareto plot of every registered model (no weights needed)")
    p.add_argument("--pattern", default="*", help="fnmatch pattern over model ids (default: all)")
    p.add_argument("--quick", action="store_true",
                   help="time only what is cheap: components under --budget-gmacs, else at a reduced resolution")
    p.add_argument("--latency-res", type=positive_int, default=None, metavar="N",
                   help="time every component at output resolution N px (default: full size; auto in --quick)")
    p.add_argument("--no-latency", action="store_true", help="params and MACs only (meta device, seconds)")
    p.add_argument("--budget-gmacs", type=float, default=None, help="quick mode's per-call compute budget (default 10)")
    p.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads while timing (default: torch's)")
    p.add_argument("--max-params-m", type=float, default=None, help="largest component to time, in M params")
    p.add_argument("--include-tiny", action="store_true", help="also bench the '-tiny' test variants")
    p.add_argument("--repeats", type=positive_int, default=None)
    p.add_argument("--warmup", type=nonneg_int, default=None)
    p.add_argument("--save-records", action="store_true", help="also merge the cost records into the results folder")
    p.add_argument("--out", default="bench-out", help="output folder (default ./bench-out)")
    p.set_defaults(func=run)


def run(args) -> int:
    import json
    from pathlib import Path

    from ..bench import BenchConfig, run_bench

    cfg = BenchConfig(pattern=args.pattern, quick=args.quick, latency=not args.no_latency, latency_res=args.latency_res,
                      include_tiny=args.include_tiny or "tiny" in args.pattern, budget_gmacs=args.budget_gmacs,
                      max_params_m=args.max_params_m, warmup=args.warmup, repeats=args.repeats,
                      threads=args.threads)
    out = Path(args.out)
    rows = run_bench(cfg, out)
    print((out / "bench.md").read_text())
    if args.save_records:
        from ..evaluate.records import save_records

        files = save_records(json.loads((out / "records.json").read_text()))
        print(f"records merged into {', '.join(map(str, files))}")
    failed = [r for r in rows if r.error]
    print(f"wrote {out / 'bench.md'}, {out / 'bench.json'}, {out / 'records.json'}, {out / 'pareto.png'}"
          + (f"; {len(failed)} component(s) failed (see the Note column)" if failed else ""))
    return 0
