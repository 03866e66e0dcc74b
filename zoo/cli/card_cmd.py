"""`zoo card ID`: render (and validate) a model card."""
from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("card", help="render a model card from the spec and eval results")
    p.add_argument("id", nargs="?", help="model id (or --all)")
    p.add_argument("--all", action="store_true", help="render every registered model")
    p.add_argument("--write", metavar="DIR", default=None, help="write <id>.md files into DIR (e.g. cards/)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..cards import render_card, validate_card, write_cards
    from ..errors import ZooError
    from ..registry import get_registry

    reg = get_registry()
    if args.all:
        specs = reg.list("*")
    elif args.id:
        specs = [reg.get(args.id)]
    else:
        raise ZooError("give a model id or --all")
    if args.write:
        for p in write_cards(Path(args.write), specs):
            validate_card(p.read_text())
            print(f"wrote {p}")
        return 0
    for spec in specs:
        text = str(render_card(spec))
        validate_card(text)
        print(text)
    return 0
