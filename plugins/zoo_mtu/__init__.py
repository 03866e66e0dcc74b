"""MTU (arXiv 2503.11905): multi-task upcycling of an SD1.5-family UNet. Every transformer FFN
becomes N experts of width d/N routed by a learned per-layer task embedding, with task LayerNorms
and a task conv_in (8 channels for edit / sr / inpaint); everything else frozen.

    pipe = zoo.load("sd15", techniques={"mtu": {"experts": 4}})   # step 0 == the original UNet
    pipe("sharpen the x4 upscale", image=low_res, task="sr")     # task= t2i | edit | sr | inpaint
    unet = zoo_mtu.fold(pipe, "sr")          # one plain FFN per layer: export like any UNet

Models: mtu-sd15, mtu-nanosd-m (random / unpublished MTU weights), mtu-mini (trained on the proving
ground from mini-edit, weights shipped), mtu-tiny (tests). Pipelines: MTUStableDiffusionPipeline
(``TASKS``: the values task= takes; ``pipe.tasks``: this model's).
Importing it imports no torch or diffusers.
"""
from __future__ import annotations

from zoo import TechniqueSpec, hookimpl, lazy_exports

from .choices import CHOICES, PAPER, TASKS

__all__ = ["apply", "set_task", "fold", "TASKS", "MTUUNet2DConditionModel", "MTUStableDiffusionPipeline", "mtu_unet_class"]

# diffusers finds zoo_mtu.MTUUNet2DConditionModel (and its loadable base ModelMixin) through a saved
# pipeline's model_index.json; loaded on first access so registering imports no torch.
_LAZY = {"MTUUNet2DConditionModel": "unet", "ModelMixin": "unet", "mtu_unet_class": "unet",
         "MTUStableDiffusionPipeline": "pipeline"}
_lazy = lazy_exports(__name__, _LAZY)


def __getattr__(name):
    try:
        return _lazy(name)
    except AttributeError:
        if not name.startswith("MTU"):
            raise
    # MTU<C> of another UNet class C (e.g. MTUNanoSDUNet, named in a saved pipeline's model_index.json)
    from .classes import resolve_class

    return resolve_class(name)


def apply(model, config=None):
    from .technique import apply as _apply

    return _apply(model, config)


def set_task(model, task, image=None, mask_image=None, size=None):
    from .technique import set_task as _set_task

    return _set_task(model, task, image=image, mask_image=mask_image, size=size)


def fold(model, task):
    from .technique import fold as _fold

    return _fold(model, task)


@hookimpl
def register_models(register):
    from .specs import all_specs

    for spec in all_specs():
        register(spec)


@hookimpl
def register_techniques(register):
    register(TechniqueSpec(
        id="mtu", paper=PAPER, choices=CHOICES, training_free=False,
        summary="Multi-task upcycling: every FFN -> N task-routed experts (step 0 == the original), task norms and "
                "conv_in; edit / sr / inpaint / t2i on one UNet at single-task params and MACs.",
        applies_to=["sd15", "sd15-*", "nanosd", "nanosd-*", "mini-sd", "mini-sd-*", "mini-edit", "mini-edit-*",
                    "instruct-pix2pix", "instruct-pix2pix-*"],
    ))


@hookimpl
def build_model(spec):
    """The base model (random weights) upcycled for the spec's tasks: an MTUStableDiffusionPipeline whose
    calls without task= run the first task (as after from_pretrained)."""
    import zoo

    from .technique import apply as _apply

    return _apply(zoo.build(spec.config["base"]), {**spec.config.get("options", {}), "tasks": spec.config["tasks"]})


@hookimpl
def train_model(spec, config):
    from .train import train_spec

    return train_spec(spec, config)


@hookimpl
def export_model(spec, model, request):
    from .export import export_task

    return export_task(spec, model, request)


@hookimpl
def apply_technique(technique, spec, model, config):
    return apply(model, config)
