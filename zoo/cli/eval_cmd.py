"""`zoo eval ID --suite cost|sr|generation|digits|edits`: run an evaluation suite and write its records."""
from __future__ import annotations

from .argtypes import nonneg_int, positive_int


def add_parser(sub) -> None:
    p = sub.add_parser("eval", help="evaluate a model: cost (params/MACs/latency), sr (PSNR/SSIM), generation")
    p.add_argument("id")
    p.add_argument("--suite", default="cost", help="cost, sr, generation, digits, edits, or a plugin's own suite")
    p.add_argument("--random-init", action="store_true", help="build at full size with random weights (no download)")
    p.add_argument("--meta", action="store_true", help="cost on the meta device: params and MACs only, no memory")
    p.add_argument("--out", default=None, help="a .json file or a folder (default: $ZOO_RESULTS_DIR, else the user data folder shown by "
                   "`zoo doctor`; `--out results/` writes the repo's own records)")
    p.add_argument("--no-save", action="store_true", help="print only")
    p.add_argument("--components", nargs="*", default=None, help="cost: only these components")
    p.add_argument("--backends", nargs="*", default=None, help="cost: torch and/or onnxruntime")
    p.add_argument("--downscale", type=positive_int, default=1, help="cost: time at a resolution N times smaller")
    p.add_argument("--repeats", type=positive_int, default=10)
    p.add_argument("--warmup", type=nonneg_int, default=2)
    p.add_argument("--photos", nargs="*", default=None, help="sr: photo names (zoo.evaluate.photos.SOURCES)")
    p.add_argument("--tile", type=nonneg_int, default=128, help="sr: LR tile side (0: whole image)")
    p.add_argument("--count", type=positive_int, default=None, help="edits: held-out examples per edit operation (16)")
    p.add_argument("--steps", type=positive_int, default=None, help="sr/generation/digits/edits: inference steps")
    p.add_argument("--teacher", default=None, help="generation: teacher id for teacher-aligned metrics")
    p.add_argument("--metrics", nargs="*", default=None, help="generation: clip_score fid ta")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..evaluate.api import evaluate
    from ..evaluate.records import records_table_markdown, results_dir

    opts = {"repeats": args.repeats, "warmup": args.warmup, "downscale": args.downscale, "seed": args.seed}
    if args.components:
        opts["components"] = args.components
    if args.backends:
        opts["backends"] = args.backends
    if args.suite == "sr":
        opts.update(photos=args.photos, tile=args.tile or None)
        if args.steps:
            opts["call_kwargs"] = {"num_inference_steps": args.steps}
    if args.suite == "digits" and args.steps:
        opts["steps"] = args.steps
    if args.suite == "edits":
        if args.steps:
            opts["call_kwargs"] = {"num_inference_steps": args.steps}
        if args.count:
            opts["count"] = args.count
    if args.suite == "generation":
        opts.update(teacher=args.teacher, metrics=args.metrics)
        if args.steps:
            opts["steps"] = args.steps
    records = evaluate(args.id, args.suite, pretrained=not args.random_init, meta=args.meta,
                       out=None if args.no_save else args.out, save=not args.no_save, **opts)
    print(records_table_markdown(records))
    if not args.no_save and records:
        where = args.out or results_dir() / f"{records[0]['model_id']}.json"
        print(f"records saved to {where}")
    return 0
