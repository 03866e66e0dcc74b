"""The super-resolution app: any registered super-resolution model (SD x4 upscaler, TOC-SR, ...)."""
from __future__ import annotations

from typing import Optional, Sequence

import gradio as gr

from ..registry import get_spec
from . import common, ui

TASK = "super-resolution"
API_NAME = "upscale"


def scale_of(model_id: str) -> int:
    """Upscaling factor: the spec's ``config['scale']`` if set, else the VAE's (2 per extra VAE level)."""
    cfg = get_spec(model_id).config
    if "scale" in cfg:
        return int(cfg["scale"])
    vae = cfg.get("components", {}).get("vae", {}).get("config", {})
    levels = len(vae.get("block_out_channels", [])) or 3
    return 2 ** (levels - 1)


def max_input_pixels(model_id: str) -> int:
    """Untiled inputs: up to twice the side the model was trained on (output spec.resolution).
    ZOO_DEMO_MAX_PIXELS overrides."""
    side = 2 * get_spec(model_id).resolution // scale_of(model_id)
    return common.env_int("ZOO_DEMO_MAX_PIXELS", side * side)


# Inputs above the untiled limit are upscaled in context-preserving tiles (zoo.tiling.context_tiled:
# disjoint tiles, each padded with real neighbour context, no blending), up to TILED_FACTOR times the
# untiled side (TILED_FACTOR**2 the pixels; ZOO_DEMO_MAX_TILED_PIXELS overrides). The tile comes from
# a memory budget (zoo.tiling.tile_for_budget), so peak memory stays that of one tile whatever the image.
TILED_FACTOR = 4
TILE_CONTEXT = 0.125  # of the untiled side: neighbour context on each side of a tile
MIN_SIDE = 8  # the VAE and UNet work on multiples of 8 pixels


def tiling(model_id: str, pipe) -> tuple[int, int]:
    """(tile, context) in input pixels. The padded tile fits ZOO_DEMO_MEMORY_MB at the pipeline's
    declared cost per input pixel (config ``mb_per_lr_pixel``, as TOC-SR's); a model that declares
    none is taken to fit its untiled limit in the budget. Never larger than the untiled limit."""
    from ..tiling import tile_for_budget

    side = int(max_input_pixels(model_id) ** 0.5) // MIN_SIDE * MIN_SIDE
    context = max(MIN_SIDE, int(side * TILE_CONTEXT) // MIN_SIDE * MIN_SIDE)
    budget = common.memory_budget_mb()
    cfg = getattr(pipe, "config", None)
    per_px = cfg.get("mb_per_lr_pixel") if isinstance(cfg, dict) else None
    largest = max(MIN_SIDE, side - 2 * context)
    # no declared cost: the largest padded tile fits (a small model's tile + context can exceed its untiled side)
    per_px = float(per_px) if per_px else budget / (largest + 2 * context) ** 2
    return tile_for_budget(budget, per_px, context=context, align=MIN_SIDE, minimum=MIN_SIDE,
                           maximum=largest), context


def max_tiled_pixels(model_id: str) -> int:
    return common.env_int("ZOO_DEMO_MAX_TILED_PIXELS", TILED_FACTOR**2 * max_input_pixels(model_id))


def limits_text(model_id: str) -> str:
    s, m, t = scale_of(model_id), max_input_pixels(model_id), max_tiled_pixels(model_id)
    side, tside = int(m**0.5), int(t**0.5)
    return (f"×{s} upscaling · input up to {m:,} pixels in one pass (e.g. {side}×{side} → {side * s}×{side * s}), "
            f"larger ones up to {t:,} pixels in tiles (e.g. {tside}×{tside} → {tside * s}×{tside * s})")


def upscale(model_id, image, prompt, negative, steps, guidance, noise_level, seed, techniques, progress=gr.Progress()):
    with ui.user_errors():
        img = common.open_image(image, max_tiled_pixels(model_id), what="The input image")
        common.check_min_side(img, MIN_SIDE, "The input image")
        prompt = common.check_prompt(prompt, required=False)  # the upscaler's text is only a hint
        steps, seed = common.check_steps(steps), common.check_seed(seed)
        loaded = common.cache().get(model_id, techniques or ())
        required = dict(num_inference_steps=steps)
        if "prompt" in common.spec_params(model_id):
            required["prompt"] = prompt or ""  # upscale pipelines need a (possibly empty) prompt
        kw = common.call_kwargs(model_id, required, negative_prompt=negative, guidance_scale=float(guidance),
                                noise_level=int(noise_level))
        tile, context = tiling(model_id, loaded.pipe)
        out, seconds = common.upscale_image(loaded.pipe, kw, img, scale_of(model_id), seed, tile,
                                            context, MIN_SIDE, ui.progress_steps(progress))
        return ui.result(out, loaded, seed, seconds)


def build(models: Sequence[str], default: str, title: Optional[str] = None) -> gr.Blocks:
    params = common.spec_params(default)
    with gr.Blocks(title=title or "zoo · super-resolution", **ui.BLOCKS_KW) as demo:
        ui.header(title or "Super-resolution", "Upscale a photo with an efficient diffusion super-resolution model.")
        with gr.Row():
            with gr.Column(scale=1):
                model = ui.model_picker(list(models), default)
                limits = gr.Markdown(limits_text(default), elem_id="limits")
                # The file reaches us undecoded, so its size is checked before decoding and
                # 16-bit / alpha images are converted correctly (common.to_rgb).
                image = ui.upload_image("Low-resolution input")
                prompt = gr.Textbox(label="Prompt (optional)", lines=1, placeholder="a sharp photo", elem_id="prompt",
                                    visible="prompt" in params)
                negative = gr.Textbox(label="Negative prompt", lines=1, placeholder="blurry",
                                      elem_id="negative-prompt", visible="negative_prompt" in params)
                with gr.Accordion("Settings", open=True):
                    steps = gr.Slider(1, 100, value=ui.default_steps(default, 20), step=1, label="Steps", elem_id="steps")
                    guidance = gr.Slider(0.0, 20.0, value=9.0, step=0.5, label="Guidance scale", elem_id="guidance",
                                         visible="guidance_scale" in params)
                    noise = gr.Slider(0, 350, value=20, step=1, label="Noise level", elem_id="noise-level",
                                      info="noise added to the input: higher invents more detail",
                                      visible="noise_level" in params)
                    seed = ui.seed_row()
                    techniques = ui.technique_toggles(default)
                button = gr.Button("Upscale", variant="primary", elem_id="run")
            with gr.Column(scale=1):
                out, status, download, card = ui.output_panel(default)

        def on_model(mid):
            return (ui.card_markdown(mid), limits_text(mid), gr.update(value=ui.default_steps(mid, 20)),
                    ui.visible_if(mid, "guidance_scale"), ui.visible_if(mid, "noise_level"),
                    ui.visible_if(mid, "prompt"), ui.visible_if(mid, "negative_prompt"), ui.technique_update(mid))

        # On page load too, so the controls fit the preselected model.
        gr.on([model.change, demo.load], on_model, model,
              [card, limits, steps, guidance, noise, prompt, negative, techniques],
              api_visibility="private", concurrency_limit=None)
        button.click(upscale, [model, image, prompt, negative, steps, guidance, noise, seed, techniques],
                     [out, status, download, card], api_name=API_NAME)
    return demo
