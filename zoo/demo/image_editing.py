"""The image-editing app: any registered instruction-editing model (InstructPix2Pix, EdgeEdit, ...)."""
from __future__ import annotations

from typing import Optional, Sequence

import gradio as gr

from ..registry import get_spec
from . import common, ui

TASK = "image-editing"
API_NAME = "edit"


def side_limits(model_id: str) -> tuple[int, int, int]:
    """(min, max, step) of the output's longer side: up to the model's trained resolution."""
    hi = get_spec(model_id).resolution
    step = 64 if hi >= 256 else 8
    return max(step, hi // 2), hi, step


def check_side(model_id: str, side) -> int:
    lo, hi, step = side_limits(model_id)
    try:
        side = int(side)
    except (TypeError, ValueError):
        raise common.DemoInputError(f"Size must be a whole number of pixels, got {side!r}.") from None
    if not lo <= side <= hi:
        raise common.DemoInputError(f"Size {side} px is outside what {model_id} supports: {lo}..{hi} px.")
    return side


def edit(model_id, image, prompt, negative, steps, guidance, image_guidance, side, seed, techniques,
         progress=gr.Progress()):
    with ui.user_errors():
        prompt = common.check_prompt(prompt)
        side = check_side(model_id, side)
        img = common.open_image(image, common.env_int("ZOO_DEMO_MAX_UPLOAD_PIXELS", common.MAX_UPLOAD_PIXELS),
                                what="The input image")
        common.check_min_side(img, side_limits(model_id)[2], "The input image")
        # Latent side must divide by the VAE factor (8), and the model was trained near `side`.
        img = common.fit_side(img, side, side_limits(model_id)[2])
        steps, seed = common.check_steps(steps), common.check_seed(seed)
        loaded = common.cache().get(model_id, techniques or ())
        kw = common.call_kwargs(model_id, dict(prompt=prompt, image=img, num_inference_steps=steps),
                                negative_prompt=negative, guidance_scale=float(guidance),
                                image_guidance_scale=float(image_guidance))
        out, seconds = common.run(loaded.pipe, kw, seed, ui.progress_steps(progress))
        return ui.result(out, loaded, seed, seconds)


def build(models: Sequence[str], default: str, title: Optional[str] = None) -> gr.Blocks:
    params = common.spec_params(default)
    lo, hi, step = side_limits(default)
    all_lo = min(side_limits(m)[0] for m in models)  # server-side bounds span every listed model
    all_hi = max(side_limits(m)[1] for m in models)
    with gr.Blocks(title=title or "zoo · image editing", **ui.BLOCKS_KW) as demo:
        ui.header(title or "Image editing", "Edit a photo by instruction with an efficient diffusion editing model.")
        with gr.Row():
            with gr.Column(scale=1):
                model = ui.model_picker(list(models), default)
                # the file reaches us undecoded: size checked before decoding, modes converted by common.to_rgb
                image = ui.upload_image("Input image")
                prompt = gr.Textbox(label="Instruction", lines=2, placeholder="make it look like a watercolor painting",
                                    elem_id="prompt")
                negative = gr.Textbox(label="Negative prompt", lines=1, placeholder="blurry", elem_id="negative-prompt",
                                      visible="negative_prompt" in params)
                with gr.Accordion("Settings", open=True):
                    steps = gr.Slider(1, 100, value=ui.default_steps(default, 20), step=1, label="Steps", elem_id="steps")
                    guidance = gr.Slider(0.0, 20.0, value=7.5, step=0.5, label="Text guidance", elem_id="guidance",
                                         visible="guidance_scale" in params)
                    image_guidance = gr.Slider(0.0, 5.0, value=1.5, step=0.1, label="Image guidance",
                                               elem_id="image-guidance", visible="image_guidance_scale" in params)
                    size = gr.Slider(all_lo, all_hi, value=hi, step=step, label="Output size (longer side)",
                                     elem_id="size", info="the input is resized to this, keeping its aspect")
                    seed = ui.seed_row()
                    techniques = ui.technique_toggles(default)
                button = gr.Button("Edit", variant="primary", elem_id="run")
            with gr.Column(scale=1):
                out, status, download, card = ui.output_panel(default)

        def on_model(mid):
            lo, hi, step = side_limits(mid)
            return (ui.card_markdown(mid), gr.update(minimum=lo, maximum=hi, step=step, value=hi),
                    gr.update(value=ui.default_steps(mid, 20)), ui.visible_if(mid, "guidance_scale"),
                    ui.visible_if(mid, "image_guidance_scale"), ui.visible_if(mid, "negative_prompt"),
                    ui.technique_update(mid))

        # On page load too: slider bounds start wide enough for every listed model (gradio checks
        # them server-side), then narrow to the selected one.
        gr.on([model.change, demo.load], on_model, model,
              [card, size, steps, guidance, image_guidance, negative, techniques],
              api_visibility="private", concurrency_limit=None)
        gr.on([button.click, prompt.submit], edit,
              [model, image, prompt, negative, steps, guidance, image_guidance, size, seed, techniques],
              [out, status, download, card], api_name=API_NAME)
    return demo
