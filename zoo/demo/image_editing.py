"""The image-editing app: any registered instruction-editing model (InstructPix2Pix, EC, MTU, MobilePicasso, ...).

Controls follow the selected pipeline's call signature: a ``task=`` argument (MTU) shows a task
picker with its declared values, ``mask_image=`` a mask upload, ``output_size=`` (MobilePicasso)
returns the edit at the photo's own resolution. A second model can run beside the first on the
same input, instruction, seed and steps, each with its denoiser calls counted by a forward hook
(by default a guidance-free editor such as EC beside a classifier-free-guided one).
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import gradio as gr

from ..registry import get_spec
from . import common, ui

TASK = "image-editing"
API_NAME = "edit"
NO_COMPARE = "(none)"


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


GUIDED = {"guidance_scale": 7.5, "image_guidance_scale": 1.5}  # InstructPix2Pix's defaults: 3-branch CFG


def settings(model_id: str, paired: bool = False) -> dict:
    """Starting steps and guidance for ``model_id``: the call arguments its spec recommends
    (``config['call_kwargs']``, e.g. an unguided miniature's guidance 1), else the app's defaults. Beside a
    model of the other kind of guidance (``paired``) guidance starts on, which is what that comparison shows."""
    rec = get_spec(model_id).config.get("call_kwargs") or {}
    guidance = GUIDED if paired else {k: rec.get(k, v) for k, v in GUIDED.items()}
    return {"num_inference_steps": rec.get("num_inference_steps", ui.default_steps(model_id, 20)), **guidance}


def max_upload_pixels() -> int:
    return common.env_int("ZOO_DEMO_MAX_UPLOAD_PIXELS", common.MAX_UPLOAD_PIXELS)


def size_text(model_id: str) -> str:
    if common.full_resolution(model_id):
        m = max_upload_pixels()
        return (f"`{model_id}` edits at {get_spec(model_id).resolution} px and returns the photo at its own "
                f"resolution, up to {m:,} pixels (about {int(m ** 0.5)}×{int(m ** 0.5)}).")
    return ""


def check_task(model_id: str, task: Any) -> Optional[str]:
    tasks = common.declared_tasks(model_id)
    if not tasks:
        return None
    if task in (None, ""):
        return tasks[0]
    if task not in tasks:
        raise common.DemoInputError(f"Task {task!r} is not one of {model_id}'s: {', '.join(tasks)}.")
    return str(task)


def check_compare(model_id: str, compare: Any) -> Optional[str]:
    if compare in (None, "", NO_COMPARE):
        return None
    spec = get_spec(compare)  # unknown id -> one line with "did you mean"
    if spec.task != TASK:
        raise common.DemoInputError(f"{compare} is a {spec.task} model; only {TASK} models can be compared here.")
    return spec.id


def model_input(model_id: str, img: Any, side: int, mask: Any) -> tuple[Any, dict]:
    """The input as ``model_id`` takes it, and the size-related call arguments: the photo untouched
    for a full-resolution pipeline, else resized to ``side`` (within the model's limits)."""
    lo, hi, step = side_limits(model_id)
    common.check_min_side(img, step, "The input image")
    if common.full_resolution(model_id):
        # the demo machine's tile budget (the spec's may be set small to show tiling): fewer, larger tiles
        x, extra = img, {"output_size": img.size, "memory_budget_mb": common.memory_budget_mb()}
    else:
        x = common.fit_side(img, min(max(side, lo), hi), step)
        extra = {"height": x.height, "width": x.width}  # kept only where the pipeline takes them (MTU)
    if mask is not None and "mask_image" in common.spec_params(model_id):
        from PIL import Image

        extra["mask_image"] = mask.resize(x.size, Image.Resampling.NEAREST)
    return x, extra


def edit_once(model_id: str, techniques: Sequence[str], img: Any, mask: Any, prompt: str, negative: Any, steps: int,
              guidance: float, image_guidance: float, side: int, seed: int, task: Optional[str], keep: int,
              progress: Any) -> tuple:
    """Run one model; returns (image, loaded, seconds, denoiser calls)."""
    x, extra = model_input(model_id, img, side, mask)
    loaded = common.cache().get(model_id, techniques, keep=keep)
    own_task = task if task in common.declared_tasks(model_id) else None
    kw = common.call_kwargs(model_id, dict(prompt=prompt, image=x, num_inference_steps=steps),
                            negative_prompt=negative, guidance_scale=guidance, image_guidance_scale=image_guidance,
                            task=own_task, **extra)
    out, seconds, calls = common.run_counted(loaded.pipe, kw, seed, ui.progress_steps(progress))
    return out, loaded, seconds, calls


def edit(model_id, image, prompt, negative, steps, guidance, image_guidance, side, seed, techniques,
         task=None, compare=NO_COMPARE, mask=None, progress=gr.Progress()):
    with ui.user_errors():
        prompt = common.check_prompt(prompt)
        # a full-resolution pipeline takes the photo's size; the side is then only the compared model's
        side = side_limits(model_id)[1] if common.full_resolution(model_id) else check_side(model_id, side)
        task = check_task(model_id, task)
        compare = check_compare(model_id, compare)
        img = common.open_image(image, max_upload_pixels(), what="The input image")
        if mask is not None:
            if "mask_image" not in common.spec_params(model_id):
                raise common.DemoInputError(f"{model_id} takes no mask: clear the mask upload.")
            mask = common.open_image(mask, max_upload_pixels(), what="The mask")
        steps, seed = common.check_steps(steps), common.check_seed(seed)
        args = dict(img=img, mask=mask, prompt=prompt, negative=negative, steps=steps, guidance=float(guidance),
                    image_guidance=float(image_guidance), side=side, seed=seed, task=task, progress=progress)
        keep = 2 if compare else 1  # both compared models stay loaded, not reloaded on every click
        out, loaded, seconds, calls = edit_once(model_id, techniques or (), keep=keep, **args)
        main = ui.result(out, loaded, seed, seconds, calls)
        if not compare:
            return (*main, None, "")
        out2, loaded2, seconds2, calls2 = edit_once(compare, (), keep=keep, **args)
        named = (main[0], f"`{model_id}` · {main[1]}", *main[2:])  # two statuses side by side: say whose
        return (*named, out2, f"`{compare}` · " + ui.status_line(out2, loaded2, seed, seconds2, calls2))


def build(models: Sequence[str], default: str, title: Optional[str] = None) -> gr.Blocks:
    params = common.spec_params(default)
    lo, hi, step = side_limits(default)
    all_lo = min(side_limits(m)[0] for m in models)  # server-side bounds span every listed model
    all_hi = max(side_limits(m)[1] for m in models)
    tasks = common.declared_tasks(default)
    pair = common.compare_default(models, default) or NO_COMPARE
    start = settings(default, paired=pair != NO_COMPARE)
    with gr.Blocks(title=title or "zoo · image editing", **ui.BLOCKS_KW) as demo:
        ui.header(title or "Image editing", "Edit a photo by instruction with an efficient diffusion editing model. "
                  "Pick a second model to compare: both run on the same photo, instruction, seed and steps, "
                  "with the denoiser passes each one took.")
        with gr.Row():
            with gr.Column(scale=1):
                model = ui.model_picker(list(models), default)
                # any value passes gradio's check (an API call names another model's task); check_task checks it
                task = gr.Dropdown(list(tasks), value=tasks[0] if tasks else None, label="Task", elem_id="task",
                                   info="this model's tasks (its pipeline's task= argument)", visible=bool(tasks),
                                   allow_custom_value=True)
                compare = gr.Dropdown([NO_COMPARE, *models], value=pair, label="Compare with", elem_id="compare",
                                      info="runs beside the model above, same input, seed and steps")
                # the file reaches us undecoded: size checked before decoding, modes converted by common.to_rgb
                image = ui.upload_image("Input image")
                sizes = gr.Markdown(size_text(default), elem_id="limits")
                mask = ui.upload_image("Mask (white = pixels to fill)", elem_id="mask-image",
                                       visible="mask_image" in params)
                prompt = gr.Textbox(label="Instruction", lines=2, placeholder="make it look like a watercolor painting",
                                    elem_id="prompt")
                negative = gr.Textbox(label="Negative prompt", lines=1, placeholder="blurry", elem_id="negative-prompt",
                                      visible="negative_prompt" in params)
                with gr.Accordion("Settings", open=True):
                    steps = gr.Slider(1, 100, value=start["num_inference_steps"], step=1, label="Steps", elem_id="steps")
                    guidance = gr.Slider(0.0, 20.0, value=start["guidance_scale"], step=0.5, label="Text guidance",
                                         elem_id="guidance", info="1 = no classifier-free guidance",
                                         visible="guidance_scale" in params)
                    image_guidance = gr.Slider(0.0, 5.0, value=start["image_guidance_scale"], step=0.1,
                                               label="Image guidance",
                                               elem_id="image-guidance", visible="image_guidance_scale" in params)
                    size = gr.Slider(all_lo, all_hi, value=hi, step=step, label="Output size (longer side)",
                                     elem_id="size", info="the input is resized to this, keeping its aspect",
                                     visible=not common.full_resolution(default))
                    seed = ui.seed_row()
                    techniques = ui.technique_toggles(default)
                button = gr.Button("Edit", variant="primary", elem_id="run")
            with gr.Column(scale=1):
                with gr.Row(equal_height=False):  # the two edits side by side, each with its denoiser passes
                    with gr.Column(min_width=160):
                        out, status = ui.output_image()
                    with gr.Column(min_width=160, visible=pair != NO_COMPARE) as compare_col:
                        out2, status2 = ui.output_image("Compared model", "compare-image")
                download, card = ui.download_and_card(default)

        def on_model(mid):
            lo, hi, step = side_limits(mid)
            pair = common.compare_default(models, mid)
            ts, start = common.declared_tasks(mid), settings(mid, paired=pair is not None)
            return (ui.card_markdown(mid), gr.update(minimum=lo, maximum=hi, step=step, value=hi,
                                                     visible=not common.full_resolution(mid)),
                    *(gr.update(value=start[k]) for k in ("num_inference_steps", "guidance_scale", "image_guidance_scale")),
                    ui.visible_if(mid, "negative_prompt"),
                    ui.technique_update(mid), gr.update(choices=list(ts), value=ts[0] if ts else None, visible=bool(ts)),
                    ui.visible_if(mid, "mask_image"), size_text(mid), pair or NO_COMPARE)

        def on_pair(mid, other):
            """Guidance sliders where either model takes them; the second output only when comparing."""
            either = [mid] + ([other] if other not in (None, NO_COMPARE) else [])
            shown = [gr.update(visible=any(p in common.spec_params(m) for m in either))
                     for p in ("guidance_scale", "image_guidance_scale")]
            return (*shown, gr.update(visible=len(either) > 1))

        # On page load too: slider bounds start wide enough for every listed model (gradio checks
        # them server-side), then narrow to the selected one. A new model suggests its comparison.
        gr.on([model.change, demo.load], on_model, model,
              [card, size, steps, guidance, image_guidance, negative, techniques, task, mask, sizes, compare],
              api_visibility="private", concurrency_limit=None)
        gr.on([model.change, compare.change, demo.load], on_pair, [model, compare],
              [guidance, image_guidance, compare_col], api_visibility="private", concurrency_limit=None)
        gr.on([button.click, prompt.submit], edit,
              [model, image, prompt, negative, steps, guidance, image_guidance, size, seed, techniques, task, compare,
               mask],
              [out, status, download, card, out2, status2], api_name=API_NAME)
    return demo
