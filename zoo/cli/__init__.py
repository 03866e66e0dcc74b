"""The `zoo` command line. Each command lives in its own module of this package and exposes
``add_parser(subparsers)`` and ``run(args) -> int``; argparse keeps `zoo list` fast."""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Optional, Sequence

from ..errors import ZooError

# command name -> module (in this package) that implements it
COMMANDS = {
    "list": "listing",
    "info": "listing",
    "plugins": "plugins_cmd",
    "doctor": "doctor",
    "load": "run_cmd",
    "run": "run_cmd",
    "eval": "eval_cmd",
    "bench": "bench_cmd",
    "fetch": "fetch",
    "push": "push_cmd",
    "card": "card_cmd",
    "demo": "demo_cmd",
    "space": "space_cmd",
    "train": "train_cmd",
    "export": "export_cmd",
}


def build_parser(command: Optional[str] = None) -> argparse.ArgumentParser:
    """The parser; with ``command`` only that command's module is imported (keeps `zoo list` fast)."""
    from .. import __version__

    parser = argparse.ArgumentParser(prog="zoo", description="Efficient on-device diffusion models: list, load, export, evaluate, push.")
    parser.add_argument("--version", action="version", version=f"zoo {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = [COMMANDS[command]] if command in COMMANDS else dict.fromkeys(COMMANDS.values())
    for mod_name in modules:
        importlib.import_module(f".{mod_name}", __name__).add_parser(sub)
    return parser


def _command(argv: Sequence[str]) -> Optional[str]:
    for a in argv:
        if not a.startswith("-"):
            return a
    return None


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command(argv))
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ZooError as exc:
        if args.debug or os.environ.get("ZOO_DEBUG"):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `zoo list | head`: the reader left; not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
