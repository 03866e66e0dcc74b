"""`zoo fetch ID`: pre-fill the Hugging Face cache so later loads work offline."""
from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("fetch", help="download a model's weights into the Hugging Face cache")
    p.add_argument("id", nargs="+")
    p.add_argument("--revision", default=None)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..hub import resolve
    from ..refs import parse_ref
    from ..registry import get_registry

    for ref_s in args.id:
        ref = parse_ref(ref_s)
        if ref.kind == "local-dir":
            print(f"{ref_s}: local folder, nothing to fetch")
            continue
        spec = get_registry().get(ref.name) if ref.kind == "registered" else None
        repo = None if spec else ref.name
        path = resolve(spec, repo=repo, revision=args.revision or ref.revision)
        print(f"{ref_s}: {path}")
    return 0
