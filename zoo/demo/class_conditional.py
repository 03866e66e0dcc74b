"""The class-conditional app: any registered class-conditional model (DiTPipeline-style,
``pipe(class_labels=[k])``: mini-dit, DiT-XL/2, EdgeDiT, ...).

Class names come from the spec's ``config['id2label']`` (diffusers' DiTPipeline argument of that
name) when it declares them, else the classes are numbered from the denoiser's class count.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import gradio as gr

from ..registry import get_spec
from . import common, ui

TASK = "class-conditional-generation"
API_NAME = "generate"


def _find(cfg: Any, key: str) -> Any:
    """The first value of ``key`` anywhere in a nested spec config (the denoiser's class count)."""
    if isinstance(cfg, dict):
        if key in cfg:
            return cfg[key]
        cfg = list(cfg.values())
    if isinstance(cfg, list):
        for v in cfg:
            found = _find(v, key)
            if found is not None:
                return found
    return None


def class_names(model_id: str) -> dict[int, str]:
    """class id -> name: the spec's ``id2label``, else ``num_classes`` / the DiT label embedder's
    ``num_embeds_ada_norm`` classes, numbered."""
    cfg = get_spec(model_id).config
    names = cfg.get("id2label")
    if names:
        return {int(k): str(v) for k, v in sorted(names.items(), key=lambda kv: int(kv[0]))}
    n = cfg.get("num_classes") or _find(cfg, "num_embeds_ada_norm") or 0
    return {i: str(i) for i in range(int(n))}


def class_choices(model_id: str) -> list[tuple[str, int]]:
    return [(str(k) if name == str(k) else f"{k} · {name}", k) for k, name in class_names(model_id).items()]


def default_class(model_id: str) -> Optional[int]:
    names = class_names(model_id)
    example = get_spec(model_id).config.get("example_class")
    return int(example) if example is not None and int(example) in names else next(iter(names), None)


def check_class(model_id: str, label: Any) -> int:
    names = class_names(model_id)
    try:
        k = int(label)
    except (TypeError, ValueError):
        raise common.DemoInputError(f"Class must be a class number of {model_id}, got {label!r}.") from None
    if names and k not in names:
        raise common.DemoInputError(f"Class {k} is not one of {model_id}'s: 0..{max(names)}.")
    return k


def generate(model_id, label, steps, guidance, seed, techniques, progress=gr.Progress()):
    with ui.user_errors():
        k = check_class(model_id, label)
        steps, seed = common.check_steps(steps), common.check_seed(seed)
        loaded = common.cache().get(model_id, techniques or ())
        kw = common.call_kwargs(model_id, dict(class_labels=[k], num_inference_steps=steps),
                                guidance_scale=float(guidance))
        img, seconds, calls = common.run_counted(loaded.pipe, kw, seed, ui.progress_steps(progress))
        return ui.result(img, loaded, seed, seconds, calls)


def build(models: Sequence[str], default: str, title: Optional[str] = None) -> gr.Blocks:
    params = common.spec_params(default)
    with gr.Blocks(title=title or "zoo · class-conditional", **ui.BLOCKS_KW) as demo:
        ui.header(title or "Class-conditional generation", "Draw an image of a chosen class with an efficient "
                  "class-conditional diffusion model (DiT family).")
        with gr.Row():
            with gr.Column(scale=1):
                model = ui.model_picker(list(models), default)
                # any value passes gradio's check (another model's classes arrive through the API); checked here
                label = gr.Dropdown(class_choices(default), value=default_class(default), label="Class",
                                    elem_id="class", allow_custom_value=True, filterable=True,
                                    info="the class to draw (type a number or a name to search)")
                with gr.Accordion("Settings", open=True):
                    steps = gr.Slider(1, 100, value=ui.default_steps(default), step=1, label="Steps", elem_id="steps")
                    guidance = gr.Slider(1.0, 10.0, value=4.0, step=0.5, label="Guidance scale", elem_id="guidance",
                                         visible="guidance_scale" in params, info="1 = no classifier-free guidance")
                    seed = ui.seed_row()
                    techniques = ui.technique_toggles(default)
                button = gr.Button("Generate", variant="primary", elem_id="run")
            with gr.Column(scale=1):
                image, status, download, card = ui.output_panel(default)

        def on_model(mid):
            return (ui.card_markdown(mid), gr.update(choices=class_choices(mid), value=default_class(mid)),
                    gr.update(value=ui.default_steps(mid)), ui.visible_if(mid, "guidance_scale"),
                    ui.technique_update(mid))

        gr.on([model.change, demo.load], on_model, model, [card, label, steps, guidance, techniques],
              api_visibility="private", concurrency_limit=None)
        button.click(generate, [model, label, steps, guidance, seed, techniques], [image, status, download, card],
                     api_name=API_NAME)
    return demo
