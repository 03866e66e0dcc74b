"""`zoo doctor`: what a bug report needs: versions, offline flags, cache, plugin errors."""
from __future__ import annotations

import importlib.metadata as md
import os
import platform
import sys


def add_parser(sub) -> None:
    p = sub.add_parser("doctor", help="check the environment, offline flags, cache and plugins")
    p.set_defaults(func=run)


def _version(dist: str) -> str:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return "not installed"


def run(args) -> int:
    from .. import __version__, hub
    from ..plugins import ENV_ALLOW, ENV_STRICT, get_plugin_manager
    from ..registry import get_registry

    print(f"zoo {__version__} on Python {sys.version.split()[0]} ({platform.platform()})")
    for dist in ["torch", "diffusers", "transformers", "huggingface_hub", "safetensors", "accelerate", "onnx",
                 "onnxruntime", "coremltools", "qai-hub", "gradio", "torchmetrics", "optuna"]:
        print(f"  {dist:16s} {_version(dist)}")
    print("environment:")
    for var in ["HF_HUB_OFFLINE", "HF_ENDPOINT", "HF_HOME", "HF_HUB_CACHE", "ZOO_MODELS_DIR", ENV_ALLOW, ENV_STRICT]:
        print(f"  {var:20s} {os.environ.get(var, '-')}")
    from huggingface_hub import constants

    print(f"  hub cache            {constants.HF_HUB_CACHE}")
    print(f"  zoo local models     {hub.models_dir()}")
    from ..evaluate.records import results_dir

    print(f"  zoo eval results     {results_dir()}")
    print(f"  offline              {hub.offline()}")
    try:
        from huggingface_hub import get_token

        print(f"  hub token            {'set' if get_token() else 'none (zoo push will need one)'}")
    except Exception:
        pass
    pm = get_plugin_manager()
    reg = get_registry()
    problems = 0
    print(f"plugins: {len(pm.infos)} loaded, {len(reg.models)} models, {len(reg.techniques)} techniques")
    for name, info in sorted(pm.infos.items()):
        err = info.error or reg.errors.get(name)
        if err:
            problems += 1
            print(f"  {name}: ERROR {err}")
    print("ok" if not problems else f"{problems} plugin problem(s): see `zoo plugins --traceback`")
    return 1 if problems else 0
