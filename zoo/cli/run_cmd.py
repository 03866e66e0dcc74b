"""`zoo run ID PROMPT`: load a model and generate one image (the quickest end-to-end check)."""
from __future__ import annotations

import time
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("run", aliases=["load"], help="load a model and run it once")
    p.add_argument("id")
    p.add_argument("prompt", nargs="?", default="a photo of a red fox in the snow")
    p.add_argument("--random-init", action="store_true", help="skip weights: full-size build with random init")
    p.add_argument("--weights", default=None, help="explicit weights folder")
    p.add_argument("--revision", default=None)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, default=None, help="output side in pixels (default: the model's)")
    p.add_argument("--technique", action="append", default=[], help="apply a technique by id (repeatable)")
    p.add_argument("--out", default="zoo-output.png")
    p.set_defaults(func=run)


def run(args) -> int:
    import torch

    from ..loading import load
    from ..registry import get_registry

    spec = get_registry().get(args.id) if not args.id.startswith(("hf-hub:", "local-dir:")) else None
    pipe = load(args.id, pretrained=not args.random_init, weights=args.weights, revision=args.revision,
                techniques=args.technique or None)
    size = args.size or (spec.resolution if spec else 512)
    t0 = time.perf_counter()
    out = pipe(args.prompt, num_inference_steps=args.steps, height=size, width=size,
               generator=torch.Generator().manual_seed(args.seed))
    dt = time.perf_counter() - t0
    img = out.images[0]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    img.save(args.out)
    print(f"{args.id}: {img.size[0]}x{img.size[1]} image in {dt:.2f} s -> {args.out}")
    return 0
