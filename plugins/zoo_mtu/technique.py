"""The ``mtu`` technique on a pipeline or a bare UNet, the task switch, and per-task folding.

    pipe = zoo.load("sd15", techniques={"mtu": {"experts": 4}})
    zoo_mtu.set_task(pipe, "edit", image=photo)        # image: PIL / HxWx3 uint8 / [-1,1] tensor
    pipe("make it grayscale", num_inference_steps=20)
    unet_edit = zoo_mtu.fold(pipe, "edit")              # plain UNet, 8 input channels, no router
"""
from __future__ import annotations

from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from zoo import ZooError

from .choices import TASKS


class MTUOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    experts: int = Field(4, ge=1, description="experts per FFN (the paper's best for SD1.5: 4)")
    tasks: list[str] = Field(default_factory=lambda: list(TASKS))
    task_dim: int = Field(64, ge=1, description="task embedding width (router MLP hidden width too)")

    @field_validator("tasks")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        bad = [t for t in v if t not in TASKS]
        if bad or not v or len(set(v)) != len(v):
            raise ValueError(f"tasks must be distinct names from {', '.join(TASKS)}, got {v}")
        return v


def parse_options(config: Optional[dict]) -> MTUOptions:
    try:
        return MTUOptions(**(config or {}))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "options"
        raise ZooError(f"mtu option {where}: {err['msg']} (options: experts, tasks, task_dim)") from None


def unet_of(model: Any) -> Any:
    import torch

    if isinstance(model, torch.nn.Module):
        return model
    unet = getattr(model, "unet", None)
    if not isinstance(unet, torch.nn.Module):
        raise ZooError(f"{type(model).__name__} has no UNet: MTU upcycles SD1.5-family UNets")
    return unet


def apply(model: Any, config: Optional[dict] = None) -> Any:
    """Upcycle the UNet of ``model`` in place (step 0 reproduces the original), freeze all but MTU's
    modules, and return ``model``: a pipeline becomes an ``MTUStableDiffusionPipeline`` (``task=`` call
    argument); a UNet of a diffusers model class ``C`` becomes ``MTU<C>`` (MTUUNet2DConditionModel for
    SD1.5's), whose save_pretrained / from_pretrained keep the MTU modules."""
    from .modules import freeze_all_but_mtu, upcycle
    from .unet import mtu_unet_class

    opts = parse_options(config)
    unet = unet_of(model)
    if getattr(unet, "_mtu_state", None) is not None:
        raise ZooError("this UNet is already MTU-upcycled")
    try:
        upcycle(unet, opts.experts, opts.tasks, opts.task_dim, init=True)
    except ValueError as exc:
        raise ZooError(f"cannot upcycle {type(unet).__name__}: {exc}") from None
    if hasattr(unet, "register_to_config") and hasattr(unet, "save_pretrained"):  # a diffusers model class
        unet.__class__ = mtu_unet_class(type(unet))
        unet.register_to_config(mtu_experts=opts.experts, mtu_tasks=list(opts.tasks), mtu_task_dim=opts.task_dim)
    freeze_all_but_mtu(unet)
    if unet is not model:
        from .pipeline import as_mtu_pipeline

        model = as_mtu_pipeline(model)
    return model


def set_task(model: Any, task: str, image: Any = None, mask_image: Any = None, size: Any = None) -> Any:
    """Switch the upcycled model to ``task``; conditioned tasks need ``image`` (a pipeline encodes
    it with its VAE, see zoo_mtu.conditions; a bare UNet takes a condition latent tensor). ``size``:
    the output side (int) or (H, W); default the image's size (x4 for sr)."""
    from .modules import CONDITIONED, state_of

    unet = unet_of(model)
    try:
        state = state_of(unet)
    except ValueError:
        raise ZooError("this model is not MTU-upcycled: load it with techniques={'mtu': {}}") from None
    check_task(task, state.tasks, image, mask_image, need_mask=unet is not model)
    cond = None
    if task in CONDITIONED:
        from .conditions import condition_latent

        hw = (size, size) if isinstance(size, int) else size
        cond = image if unet is model else condition_latent(model, task, image, mask_image, hw)
    state.task, state.cond = task, cond
    return model


def check_task(task: Any, tasks: Any, image: Any, mask_image: Any, need_mask: bool = True) -> None:
    """One-line ZooErrors: an unknown task (naming the allowed ones), a task without its image or mask."""
    from .modules import CONDITIONED

    if task not in tasks:
        raise ZooError(f"unknown MTU task {task!r}: this model's tasks are {', '.join(tasks)} (task=...)")
    if task in CONDITIONED and image is None:
        what = {"edit": "the photo to edit", "sr": "the low-resolution photo", "inpaint": "the photo (and mask_image=)"}
        raise ZooError(f"task {task!r} needs image= ({what[task]})")
    if task not in CONDITIONED and image is not None:
        raise ZooError(f"task {task!r} draws from the prompt alone: drop image= or pick one of "
                       f"{', '.join(t for t in tasks if t in CONDITIONED)}")
    if task == "inpaint" and mask_image is None and need_mask:
        raise ZooError("task 'inpaint' needs mask_image= (white = pixels to fill, as diffusers' inpainting)")
    if task != "inpaint" and mask_image is not None:
        raise ZooError(f"mask_image= is for task 'inpaint', not {task!r}")


def fold(model: Any, task: str) -> Any:
    """A plain single-task UNet of ``task`` (router weights folded into one FFN per layer)."""
    from .modules import fold as fold_unet
    from .unet import MTUUNetMixin

    unet = unet_of(model)
    try:
        return unet.fold(task) if isinstance(unet, MTUUNetMixin) else fold_unet(unet, task)
    except ValueError as exc:
        raise ZooError(str(exc)) from None
