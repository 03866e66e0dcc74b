"""`zoo plugins`: loaded plugins, versions, hooks and load errors."""
from __future__ import annotations

import json


def add_parser(sub) -> None:
    p = sub.add_parser("plugins", help="list plugins, their hooks and load errors")
    p.add_argument("--json", action="store_true")
    p.add_argument("--traceback", action="store_true", help="show full tracebacks of load errors")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..plugins import get_plugin_manager
    from ..registry import get_registry

    from ..plugins import known_hooks

    pm = get_plugin_manager()
    reg = get_registry()
    known = known_hooks()
    rows = []
    for name, info in sorted(pm.infos.items()):
        err = info.error or reg.errors.get(name)
        unknown = [h for h in info.hooks if h not in known]
        rows.append({"name": name, "module": info.module, "version": info.version, "distribution": info.distribution,
                     "hooks": info.hooks, "error": err, "unknown_hooks": unknown,
                     "models": sum(1 for s in reg.models.values() if s.plugin == name)})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r, info in zip(rows, (pm.infos[n] for n in sorted(pm.infos))):
        status = "ERROR" if r["error"] else "ok"
        print(f"{r['name']:14s} {status:6s} {r['version'] or '-':10s} {r['models']:3d} models  hooks: {', '.join(r['hooks']) or '-'}")
        if r["unknown_hooks"]:
            print(f"    unknown hook(s) {', '.join(r['unknown_hooks'])}: not in zoo.hookspecs, never called "
                  f"(a typo? known: {', '.join(sorted(known))})")
        if r["error"]:
            print(f"    {r['error']}")
            if args.traceback and info.detail:
                print(info.detail)
    return 0
