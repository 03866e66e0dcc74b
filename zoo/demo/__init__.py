"""Gradio demos, one app per task, driven by the registry (`zoo demo`, Hugging Face Spaces).

    import zoo.demo
    demo = zoo.demo.build_app("text-to-image", default="sd15")
    zoo.demo.launch(demo)

gradio and torch are imported only when an app is built, so `import zoo.demo` stays light.
"""
from __future__ import annotations

TASKS = ("text-to-image", "super-resolution", "image-editing", "class-conditional-generation")


def build_app(*args, **kwargs):
    from .app import build_app as _build_app

    return _build_app(*args, **kwargs)


build_app.__doc__ = "See zoo.demo.app.build_app."


def launch(*args, **kwargs):
    from .app import launch as _launch

    return _launch(*args, **kwargs)


launch.__doc__ = "See zoo.demo.app.launch."

__all__ = ["TASKS", "build_app", "launch"]
