"""The text-to-image app: any registered text-to-image model (SD1.5, NanoSD, PixArt, SD3.5, ...)."""
from __future__ import annotations

from typing import Optional, Sequence

import gradio as gr

from ..registry import get_spec
from . import common, ui

TASK = "text-to-image"
API_NAME = "generate"


def size_limits(model_id: str) -> tuple[int, int, int]:
    """(min, max, step) of the output side: up to the model's trained resolution, never above."""
    hi = get_spec(model_id).resolution
    step = 64 if hi >= 256 else 16  # full models: UNet/DiT strides; tiny models: small steps
    return max(step, hi // 2), hi, step


def slider_bounds(models: Sequence[str]) -> tuple[int, int]:
    """Server-side bounds spanning every listed model: gradio checks them before the handler, and an
    API call that names another model never passes through the dropdown's change event."""
    limits = [size_limits(m) for m in models]
    return min(lo for lo, _, _ in limits), max(hi for _, hi, _ in limits)


def check_size(model_id: str, width: int, height: int) -> tuple[int, int]:
    lo, hi, step = size_limits(model_id)
    out = []
    for name, v in (("Width", width), ("Height", height)):
        try:
            v = int(v)
        except (TypeError, ValueError):
            raise common.DemoInputError(f"{name} must be a whole number of pixels, got {v!r}.") from None
        if not lo <= v <= hi or v % 8:
            raise common.DemoInputError(
                f"{name} {v} px is outside what {model_id} supports: {lo}..{hi} px in multiples of 8.")
        out.append(v)
    return out[0], out[1]


def generate(model_id, prompt, negative, steps, guidance, width, height, seed, techniques, progress=gr.Progress()):
    with ui.user_errors():
        prompt = common.check_prompt(prompt)
        steps, seed = common.check_steps(steps), common.check_seed(seed)
        width, height = check_size(model_id, width, height)
        loaded = common.cache().get(model_id, techniques or ())
        kw = common.call_kwargs(model_id, dict(prompt=prompt, num_inference_steps=steps, width=width, height=height),
                                negative_prompt=negative, guidance_scale=float(guidance),
                                task=common.prompt_only_task(model_id))  # a multi-task pipeline (MTU): its text task
        img, seconds, calls = common.run_counted(loaded.pipe, kw, seed, ui.progress_steps(progress))
        return ui.result(img, loaded, seed, seconds, calls)


def build(models: Sequence[str], default: str, title: Optional[str] = None) -> gr.Blocks:
    lo, hi, step = size_limits(default)
    with gr.Blocks(title=title or "zoo · text-to-image", **ui.BLOCKS_KW) as demo:
        ui.header(title or "Text to image", "Efficient on-device diffusion models from the zoo. "
                  "Pick a model, write a prompt, generate.")
        with gr.Row():
            with gr.Column(scale=1):
                model = ui.model_picker(list(models), default)
                prompt = gr.Textbox(label="Prompt", lines=2, placeholder="a photo of a red fox in the snow", elem_id="prompt")
                negative = gr.Textbox(label="Negative prompt", lines=1, placeholder="blurry, low quality",
                                      elem_id="negative-prompt", visible="negative_prompt" in common.spec_params(default))
                with gr.Accordion("Settings", open=True):
                    steps = gr.Slider(1, 100, value=ui.default_steps(default), step=1, label="Steps", elem_id="steps")
                    guidance = gr.Slider(0.0, 20.0, value=7.5, step=0.5, label="Guidance scale", elem_id="guidance",
                                         visible="guidance_scale" in common.spec_params(default))
                    with gr.Row():
                        width = gr.Slider(*slider_bounds(models), value=hi, step=step, label="Width", elem_id="width")
                        height = gr.Slider(*slider_bounds(models), value=hi, step=step, label="Height", elem_id="height")
                    seed = ui.seed_row()
                    techniques = ui.technique_toggles(default)
                button = gr.Button("Generate", variant="primary", elem_id="run")
            with gr.Column(scale=1):
                image, status, download, card = ui.output_panel(default)

        def on_model(mid):
            lo, hi, step = size_limits(mid)
            size = gr.update(minimum=lo, maximum=hi, step=step, value=hi)
            return (ui.card_markdown(mid), size, size, gr.update(value=ui.default_steps(mid)),
                    ui.visible_if(mid, "guidance_scale"), ui.visible_if(mid, "negative_prompt"), ui.technique_update(mid))

        # On page load too: slider bounds start wide enough for every listed model (gradio checks
        # them server-side), then narrow to the selected one.
        gr.on([model.change, demo.load], on_model, model,
              [card, width, height, steps, guidance, negative, techniques],
              api_visibility="private", concurrency_limit=None)
        gr.on([button.click, prompt.submit], generate,
              [model, prompt, negative, steps, guidance, width, height, seed, techniques],
              [image, status, download, card], api_name=API_NAME)
    return demo
