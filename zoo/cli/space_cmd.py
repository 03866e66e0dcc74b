"""`zoo space ID --to DIR | --push REPO`: a model's demo as a Hugging Face Space folder."""
from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("space", help="write a model's demo as a Hugging Face Space folder, or push it")
    p.add_argument("id", help="model to preselect in the Space (its task picks the app)")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--to", default=None, metavar="DIR", help="write the Space folder here")
    where.add_argument("--push", default=None, metavar="REPO", help="create/update the Space ORG/NAME on the Hub")
    p.add_argument("--private", action="store_true", help="create the Space private (with --push)")
    p.add_argument("--hardware", default=None, help="suggested_hardware (default: from the model's size)")
    p.add_argument("--requirement", default=None,
                   help="requirement line that installs the zoo in the Space (default: $ZOO_SPACE_REQUIREMENT "
                        "or ondevice-diffusion-zoo==VERSION)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..demo.space import push_space, write_space

    if args.to:
        folder = write_space(args.id, args.to, hardware=args.hardware, requirement=args.requirement)
        print(f"{args.id}: Space folder written to {folder} (app.py, README.md, requirements.txt)")
    else:
        url = push_space(args.id, args.push, private=args.private, hardware=args.hardware, requirement=args.requirement)
        print(f"{args.id}: Space pushed to {url}")
    return 0
