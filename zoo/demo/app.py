"""`build_app(task)`: the one Gradio app of a task, listing every registered model of that task."""
from __future__ import annotations

import importlib
from typing import Any, Optional, Sequence

from ..errors import ZooError
from ..registry import get_spec
from . import TASKS
from .common import QUEUE_MAX_SIZE, env_int

# task -> module of this package that builds its app
TASK_MODULES = {"text-to-image": "text_to_image", "super-resolution": "super_resolution", "image-editing": "image_editing",
                "class-conditional-generation": "class_conditional"}
# Uploads above this are refused by gradio before they reach a handler: a photo at the pixel limit
# (common.MAX_UPLOAD_PIXELS, 4096x4096) is at most ~50 MB as a PNG, and full-resolution editing takes one.
MAX_FILE_SIZE = "64mb"


def task_of(model_id: str) -> str:
    task = get_spec(model_id).task
    if task not in TASK_MODULES:
        raise ZooError(f"{model_id} is a {task} model; the demos cover {', '.join(TASKS)}")
    return task


def build_app(task: Optional[str] = None, model_ids: Optional[Sequence[str]] = None,
              default: Optional[str] = None, title: Optional[str] = None) -> Any:
    """A gr.Blocks app for ``task`` (or the task of ``default``), queued with a bounded queue.

    ``model_ids`` limits the dropdown (default: every registered model of the task);
    ``default`` preselects one (default: the first ``-tiny`` model, which runs without weights).
    """
    if task is None:
        if default is None:
            raise ZooError("build_app needs a task or a default model id")
        task = task_of(default)
    if task not in TASK_MODULES:
        raise ZooError(f"no demo for task {task!r}; there are: {', '.join(TASK_MODULES)}")
    from .ui import model_choices

    models, default = model_choices(task, model_ids, default)
    module = importlib.import_module(f".{TASK_MODULES[task]}", __package__)
    demo = module.build(models, default, title=title)
    # One generation at a time (a model fills the machine); a bounded queue turns a crowd into
    # "queue full" messages instead of unbounded memory.
    demo.queue(max_size=env_int("ZOO_DEMO_QUEUE", QUEUE_MAX_SIZE), default_concurrency_limit=1)
    return demo


def launch(demo: Any, host: Optional[str] = None, port: Optional[int] = None, share: bool = False, **kwargs: Any) -> Any:
    """Launch with the zoo's defaults. ``host=None`` lets gradio read GRADIO_SERVER_NAME (Spaces set it)."""
    kwargs.setdefault("max_file_size", MAX_FILE_SIZE)
    kwargs.setdefault("show_error", True)  # the message of an unexpected error, never its traceback
    return demo.launch(server_name=host, server_port=port, share=share, **kwargs)
