"""`zoo run ID PROMPT`: load a model and generate one image (the quickest end-to-end check)."""
from __future__ import annotations

import inspect
import os
import time
from pathlib import Path

from .argtypes import positive_int


def add_parser(sub) -> None:
    p = sub.add_parser("run", aliases=["load"], help="load a model and run it once")
    p.add_argument("id")
    p.add_argument("prompt", nargs="?", default="a photo of a red fox in the snow")
    p.add_argument("--random-init", action="store_true", help="skip weights: full-size build with random init")
    p.add_argument("--weights", default=None, help="explicit weights folder")
    p.add_argument("--revision", default=None)
    p.add_argument("--steps", type=positive_int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=positive_int, default=None, help="output side in pixels (default: the model's)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:N, mps (default: cpu)")
    p.add_argument("--technique", action="append", default=[], metavar="ID[:KEY=VALUE,...]",
                   help="apply a technique by id, with options (repeatable), e.g. attention-reuse:policy=hurry,reuse=10")
    p.add_argument("--out", default=None,
                   help="image file to write (default: $ZOO_OUTPUT_DIR or ~/.cache/ondevice-zoo/outputs/ID-SEED.png)")
    p.set_defaults(func=run)


def technique_options(items: list[str]) -> dict[str, dict]:
    """``["ID:key=value,key2=value2", "ID2"]`` -> ``{"ID": {"key": value, ...}, "ID2": {}}``; values
    are read as JSON where they parse (numbers, true/false, lists), else kept as strings."""
    import json

    from ..errors import InvalidInputError

    out: dict[str, dict] = {}
    for item in items:
        tid, _, opts = item.partition(":")
        if not tid:
            raise InvalidInputError(f"--technique {item!r}: give ID or ID:key=value[,key=value]")
        cfg = out.setdefault(tid, {})
        for pair in filter(None, opts.split(",")):
            key, eq, value = pair.partition("=")
            if not eq or not key:
                raise InvalidInputError(f"--technique {item!r}: option {pair!r} is not key=value")
            try:
                cfg[key] = json.loads(value)
            except ValueError:
                cfg[key] = value
    return out


def default_out(model_id: str, seed: int) -> Path:
    """Outside the current folder unless asked: a run must not litter a checkout."""
    base = os.environ.get("ZOO_OUTPUT_DIR") or Path.home() / ".cache" / "ondevice-zoo" / "outputs"
    safe = model_id.replace("/", "--").replace(":", "-").replace("@", "-")
    return Path(base) / f"{safe}-{seed}.png"


def run(args) -> int:
    from ..atomic import check_writable, write_file
    from ..errors import InvalidInputError
    from ..hub import read_spec_file
    from ..refs import parse_ref
    from ..registry import get_registry
    from ..validate import check_device, check_size

    # Everything the user typed is checked before a model is built or downloaded.
    ref = parse_ref(args.id)
    spec = get_registry().get(ref.name) if ref.kind == "registered" else None
    if spec is None and ref.kind == "local-dir":
        spec = read_spec_file(Path(ref.name).expanduser()) if Path(ref.name).expanduser().is_dir() else None
    native = spec.resolution if spec else 512
    size = check_size(args.size, native) if args.size is not None else native
    check_device(args.device)
    out = Path(args.out).expanduser() if args.out else default_out(args.id, args.seed)
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp"):
        raise InvalidInputError(f"--out {str(out)!r}: give an image file name ending in .png, .jpg or .webp")
    check_writable(out.parent)

    import torch

    from ..loading import load

    pipe = load(args.id, pretrained=not args.random_init, weights=args.weights, revision=args.revision,
                techniques=technique_options(args.technique) or None, device=args.device)
    kwargs = dict(num_inference_steps=args.steps, height=size, width=size,
                  generator=torch.Generator().manual_seed(args.seed))
    if "use_resolution_binning" in inspect.signature(pipe.__call__).parameters:
        # The user asked for an exact size; binning maps it onto the full-size model's aspect
        # table, which has no entry for a tiny variant's sample size ("Invalid sample size").
        kwargs["use_resolution_binning"] = False
    t0 = time.perf_counter()
    result = pipe(args.prompt, **kwargs)
    dt = time.perf_counter() - t0
    img = result.images[0]
    with write_file(out) as tmp:
        img.save(tmp, format=(out.suffix[1:].upper().replace("JPG", "JPEG")))
    print(f"{args.id}: {img.size[0]}x{img.size[1]} image in {dt:.2f} s -> {out}")
    return 0
