"""`zoo push ID --repo ORG/NAME | --to DIR`."""
from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("push", help="upload weights + card + spec (+ exports) to the Hub, or write the layout to a folder")
    p.add_argument("id")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--repo", help="Hub repo ORG/NAME to upload to")
    g.add_argument("--to", help="write the same repo layout into this local folder")
    p.add_argument("--weights", default=None, help="weights folder to push (default: resolve as zoo.load does)")
    p.add_argument("--random-init", action="store_true", help="push a random-init build (for testing the layout)")
    p.add_argument("--export", action="append", default=[], help="export artifact to include (repeatable)")
    p.add_argument("--private", action="store_true")
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..push import push

    where = push(args.id, repo=args.repo, to=args.to, pretrained=not args.random_init, weights=args.weights,
                 private=args.private, overwrite=args.overwrite, exports=args.export)
    print(f"pushed {args.id} -> {where}")
    return 0
