"""`zoo fetch ID`: pre-fill the Hugging Face cache so later loads work offline; every cached
file is checked against its recorded sha256 and a corrupt or truncated one is downloaded again."""
from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("fetch", help="download a model's weights into the Hugging Face cache")
    p.add_argument("id", nargs="+")
    p.add_argument("--revision", default=None)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..hub import fetch
    from ..refs import parse_ref
    from ..registry import get_registry

    refs = [(ref_s, parse_ref(ref_s)) for ref_s in args.id]
    specs = {ref_s: get_registry().get(ref.name) for ref_s, ref in refs if ref.kind == "registered"}  # all ids first
    for ref_s, ref in refs:
        if ref.kind == "local-dir":
            print(f"{ref_s}: local folder, nothing to fetch")
            continue
        spec = specs.get(ref_s)
        path, repaired = fetch(spec, repo=None if spec else ref.name, revision=args.revision or ref.revision,
                               display=ref_s)
        if repaired:
            print(f"{ref_s}: re-downloaded {len(repaired)} corrupt file(s): {', '.join(repaired)}")
        print(f"{ref_s}: {path}")
    return 0
