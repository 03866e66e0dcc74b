"""`zoo demo [ID]`: launch the Gradio app of a task locally (loopback unless --host says otherwise)."""
from __future__ import annotations

import os


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="launch the Gradio demo of a model's task in the browser")
    p.add_argument("id", nargs="?", default=None, help="model to preselect (its task picks the app)")
    from ..demo import TASKS  # plain data: importing zoo.demo imports no gradio

    p.add_argument("--task", default=None, choices=list(TASKS),
                   help="task app to launch when no id is given (default: text-to-image)")
    p.add_argument("--models", default=None, help="comma-separated ids to offer (default: every model of the task)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    p.add_argument("--port", type=int, default=None, help="port (default: gradio's, 7860 or the next free one)")
    p.add_argument("--share", choices=["no", "yes"], default="no", help="make a public gradio.live link")
    p.add_argument("--random-init", action="store_true", help="use random weights for every model (ZOO_DEMO_RANDOM_INIT=1)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..errors import ZooError

    if args.id and args.task:
        from ..registry import get_spec

        if get_spec(args.id).task != args.task:
            raise ZooError(f"{args.id} is a {get_spec(args.id).task} model, not {args.task}")
    if args.random_init:
        os.environ["ZOO_DEMO_RANDOM_INIT"] = "1"
    from ..demo.app import build_app, launch

    task = None if args.id else (args.task or "text-to-image")
    models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
    demo = build_app(task, model_ids=models, default=args.id)
    launch(demo, host=args.host, port=args.port, share=args.share == "yes")
    return 0
