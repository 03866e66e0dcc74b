"""`zoo list` and `zoo info`: read the registry only (no torch import)."""
from __future__ import annotations

import json
import sys


def add_parser(sub) -> None:
    p = sub.add_parser("list", help="list registered models (wildcards: 'nanosd-*')")
    p.add_argument("pattern", nargs="?", default="*")
    p.add_argument("--task", default=None)
    p.add_argument("--json", action="store_true")
    p.add_argument("--techniques", action="store_true", help="list techniques instead of models")
    p.set_defaults(func=run_list)
    p = sub.add_parser("info", help="show one model's spec")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_info)


def run_list(args) -> int:
    from ..registry import get_registry

    from ..plugins import failed_note

    reg = get_registry()
    note = failed_note()
    if note:
        print(f"warning: {note}", file=sys.stderr)
    if args.techniques:
        techs = sorted(reg.techniques.values(), key=lambda t: t.id)
        if not techs:
            print("no techniques are registered (a technique plugin adds them: see `zoo plugins`)")
        for t in techs:
            print(f"{t.id:28s} {', '.join(t.applies_to):24s} {cut(t.summary, 70)}")
        return 0
    specs = reg.list(args.pattern, task=args.task)
    if args.json:
        print(json.dumps([s.model_dump(mode="json", exclude={"config"}) for s in specs], indent=2))
        return 0
    if not specs:
        print(f"no model matches {args.pattern!r}")
        return 0
    w = max(len(s.id) for s in specs) + 2
    tw = max(len(s.task) for s in specs) + 2
    pw = max(len(s.plugin or "") for s in specs) + 2
    print(f"{'ID':{w}s}{'TASK':{tw}s}{'PLUGIN':{pw}s}SUMMARY")
    for s in specs:
        print(f"{s.id:{w}s}{s.task:{tw}s}{(s.plugin or ''):{pw}s}{cut(s.summary, 70)}")
    return 0


def cut(text: str, width: int) -> str:
    """``text`` on one line, cut at a word boundary with an ellipsis when longer than ``width``."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    head = text[: width - 1]
    if " " in head and not text[width - 1].isspace():
        head = head.rsplit(" ", 1)[0]
    return head.rstrip(" ,;:.-") + "…"


def run_info(args) -> int:
    from ..registry import get_registry

    spec = get_registry().get(args.id)
    if args.json:
        print(spec.model_dump_json(indent=2))
        return 0
    print(f"{spec.id}  ({spec.family}, {spec.task}, plugin {spec.plugin})")
    print(f"  {spec.summary}")
    if spec.aliases:
        print(f"  aliases:   {', '.join(spec.aliases)}")
    hub = f"{spec.hub_repo}@{spec.revision or 'main'}" if spec.hub_repo else "-" if spec.shipped_weights else "- (no weights published)"
    print(f"  hub:       {hub}")
    if spec.shipped_weights:
        print(f"  weights:   shipped inside the package ({spec.shipped_weights})")
    print(f"  base:      {spec.base_model or '-'}   license: {spec.license}")
    if spec.paper:
        print(f"  paper:     {spec.paper.title} ({spec.paper.url or spec.paper.venue or ''})")
    print(f"  export:    {', '.join(spec.export_targets)}")
    for c in spec.components:
        shapes = ", ".join(f"{k}{v}" for k, v in c.inputs.items())
        print(f"  component: {c.name:14s} {c.class_name:24s} {shapes}")
    for k, v in spec.reported.items():
        print(f"  paper:     {k} = {v}")
    for k, ch in spec.choices.items():
        print(f"  choice:    {k} = {ch.value!r}  (zoo's choice: {ch.why})")
    for k, why in spec.unsupported.items():  # diffusers features this model refuses (zoo.capabilities)
        print(f"  refuses:   {k}: {why}")
    from ..registry import list_techniques

    techs = list_techniques(spec.id)
    if techs:
        print(f"  techniques: {', '.join(techs)}")
    return 0
