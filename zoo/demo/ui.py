"""Gradio pieces every task app is made of: model picker, card panel, seed row, technique
toggles, output panel, and the handler plumbing (errors -> gr.Error, steps -> gr.Progress).

Imported only by the task app modules, i.e. only when an app is built.
"""
from __future__ import annotations

import contextlib
import types
from typing import Any, Callable, Optional, Sequence

import gradio as gr

from ..errors import ZooError
from ..registry import get_spec, list_models, list_techniques
from . import common
from .card import card_markdown

SEED_MAX = 2**32 - 1
# gr.Blocks options every app shares: gradio's cache of outputs and uploads is swept hourly of
# files older than two hours, so a long-running Space does not fill its disk.
BLOCKS_KW = {"delete_cache": (3600, 7200)}


def model_choices(task: str, model_ids: Optional[Sequence[str]], default: Optional[str]) -> tuple[list[str], str]:
    """The models a task app offers, and the one preselected (common.preferred_default when nothing is asked)."""
    ids = list(model_ids) if model_ids else list_models("*", task=task)
    for mid in ids:
        spec = get_spec(mid)  # unknown id -> UnknownModelError with "did you mean"
        if spec.task != task:
            raise ZooError(f"{mid} is a {spec.task} model; the {task} app cannot run it")
    if default is not None:
        default = get_spec(default).id
        if get_spec(default).task != task:
            raise ZooError(f"{default} is a {get_spec(default).task} model, not {task}")
        if default not in ids:
            ids.insert(0, default)
    if not ids:
        raise ZooError(f"no registered {task} models: install a plugin that provides one (`zoo list --task {task}`)")
    return ids, default or common.preferred_default(ids)


@contextlib.contextmanager
def user_errors():
    """Turn errors the user can act on into a UI message (and a gradio_client exception) without a traceback."""
    try:
        yield
    except ZooError as exc:
        raise gr.Error(str(exc), print_exception=False) from None
    except MemoryError:
        raise gr.Error("Out of memory: use a smaller image or size, or a smaller model.", print_exception=False) from None


def progress_steps(progress: Any) -> Callable[[int, int], None]:
    def on_step(done: int, total: int) -> None:
        progress((min(done, total), total), desc="denoising", unit="steps")

    return on_step


def default_steps(model_id: str, full: int = 25) -> int:
    return 4 if common.is_tiny(model_id) else full


def header(title: str, blurb: str) -> None:
    gr.Markdown(f"# {title}\n{blurb}")


def model_picker(models: list[str], default: str) -> gr.Dropdown:
    return gr.Dropdown(models, value=default, label="Model", info="registered models of this task", elem_id="model")


def seed_row(value: int = 0) -> gr.Number:
    with gr.Row():
        seed = gr.Number(value=value, precision=0, minimum=0, maximum=SEED_MAX, label="Seed", elem_id="seed", scale=3)
        rand = gr.Button("Random", elem_id="random-seed", scale=1, min_width=80)
    # Drawn in the browser: no queue slot is spent on a random number.
    rand.click(None, None, seed, js=f"() => Math.floor(Math.random() * {SEED_MAX + 1})")
    return seed


def technique_toggles(model_id: str) -> gr.CheckboxGroup:
    techs = list_techniques(model_id)
    return gr.CheckboxGroup(techs, value=[], label="Techniques", info="applied to the model at load time",
                            visible=bool(techs), elem_id="techniques")


def technique_update(model_id: str) -> Any:
    techs = list_techniques(model_id)
    return gr.update(choices=techs, value=[], visible=bool(techs))


def _upload_preprocess(self: Any, payload: Any) -> Optional[str]:
    if payload is None:
        return None
    if getattr(payload, "path", None):
        return str(payload.path)
    try:  # a pasted data: URL has no file yet: gradio writes it out
        return gr.Image.preprocess(self, payload)
    except Exception:
        raise gr.Error("Cannot read the pasted data as an image.", print_exception=False) from None


def upload_image(label: str, elem_id: str = "input-image", visible: bool = True) -> gr.Image:
    """An image input whose upload reaches the app as the uploaded file's path, undecoded.

    gr.Image decodes every upload with PIL before the app sees it, so a text file or a
    20000x20000 image fails inside gradio ("Could not preprocess input component", with server
    temp paths); the apps read the file themselves (common.open_image: the zoo's pixel limit
    checked before decoding). The instance's preprocess is replaced rather than subclassing
    gr.Image: gradio writes a .pyi stub beside the source of every Component subclass.
    """
    image = gr.Image(type="filepath", image_mode=None, sources=["upload", "clipboard"], label=label, elem_id=elem_id,
                     visible=visible)
    image.preprocess = types.MethodType(_upload_preprocess, image)
    return image


def output_image(label: str = "Output", elem_id: str = "output-image") -> tuple[gr.Image, gr.Markdown]:
    """An output image and the status line under it (elem ids ``elem_id`` and ``status`` / ``<prefix>-status``)."""
    image = gr.Image(type="pil", format="png", label=label, elem_id=elem_id, interactive=False, height=320)
    status = gr.Markdown("", elem_id="status" if elem_id == "output-image" else elem_id.replace("-image", "-status"))
    return image, status


def download_and_card(model_id: str) -> tuple[gr.File, gr.Markdown]:
    download = gr.File(label="Download PNG", elem_id="download", interactive=False)
    card = gr.Markdown(card_markdown(model_id), elem_id="card")
    return download, card


def output_panel(model_id: str) -> tuple[gr.Image, gr.Markdown, gr.File, gr.Markdown]:
    return (*output_image(), *download_and_card(model_id))


def status_line(img: Any, loaded: common.Loaded, seed: int, seconds: float,
                calls: Optional[common.DenoiserCalls] = None) -> str:
    w, h = img.size
    status = f"**{w}×{h}** in **{seconds:.2f} s** · seed {seed}"
    if loaded.load_s:
        status += f" · model loaded in {loaded.load_s:.1f} s"
    if calls is not None and calls.text():
        status += "\n\n" + calls.text()
    if loaded.note:
        status += "\n\n" + loaded.note
    return status


def result(img: Any, loaded: common.Loaded, seed: int, seconds: float,
           calls: Optional[common.DenoiserCalls] = None) -> tuple:
    """Outputs of a run: image, status line, PNG to download, card with this run's timing."""
    measured = {"latency (this run)": seconds}
    return (img, status_line(img, loaded, seed, seconds, calls), common.save_png(img, loaded.model_id, seed),
            card_markdown(loaded.model_id, measured))


def visible_if(model_id: str, param: str) -> Any:
    return gr.update(visible=param in common.spec_params(model_id))
