"""The `zoo` command line. Each command lives in its own module of this package and exposes
``add_parser(subparsers)`` and ``run(args) -> int``; argparse keeps `zoo list` fast."""
from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
from typing import Optional, Sequence

from ..errors import ZooError, caller, one_line

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


class Parser(argparse.ArgumentParser):
    """argparse with the zoo's error contract: one line on stderr, exit 2 (no usage block)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"error: {self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser(command: Optional[str] = None) -> argparse.ArgumentParser:
    """The parser; with ``command`` only that command's module is imported (keeps `zoo list` fast)."""
    from .. import __version__

    parser = Parser(prog="zoo", description="Efficient on-device diffusion models: list, load, export, evaluate, push.")
    parser.add_argument("--version", action="version", version=f"zoo {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
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
    _term_as_interrupt()
    try:
        with caller("cli"):
            return int(args.func(args) or 0)
    except ZooError as exc:
        if args.debug or os.environ.get("ZOO_DEBUG"):
            raise
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `zoo list | head`: the reader left; not an error
        sys.stderr.close()
        return 0


def _term_as_interrupt() -> None:
    """SIGTERM (a `kill`, a closed terminal's job control) unwinds like Ctrl-C, so atomic writers
    remove their temp folders instead of leaving them behind."""
    def handler(signum, frame):
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, handler)


if __name__ == "__main__":
    sys.exit(main())
