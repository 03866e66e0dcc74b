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
    modules, and return ``model``. A stock UNet2DConditionModel becomes MTUUNet2DConditionModel
    (save_pretrained / from_pretrained keep the MTU modules)."""
    from diffusers import UNet2DConditionModel

    from .modules import freeze_all_but_mtu, upcycle
    from .unet import MTUUNet2DConditionModel

    opts = parse_options(config)
    unet = unet_of(model)
    if getattr(unet, "_mtu_state", None) is not None:
        raise ZooError("this UNet is already MTU-upcycled")
    try:
        upcycle(unet, opts.experts, opts.tasks, opts.task_dim, init=True)
    except ValueError as exc:
        raise ZooError(f"cannot upcycle {type(unet).__name__}: {exc}") from None
    if type(unet) is UNet2DConditionModel:
        unet.__class__ = MTUUNet2DConditionModel
        unet.register_to_config(mtu_experts=opts.experts, mtu_tasks=list(opts.tasks), mtu_task_dim=opts.task_dim)
        if unet is not model and hasattr(model, "register_modules"):  # model_index.json must name the new class
            model.register_modules(unet=unet)
    freeze_all_but_mtu(unet)
    return model


def condition_latent(pipe: Any, task: str, image: Any, mask_image: Any = None, size: Optional[int] = None) -> Any:
    """The condition latent of ``task``: the VAE latent of the input photo (edit), of the masked
    photo (inpaint: masked pixels set to 0 in [-1, 1]), of the bicubic upsample of the
    low-resolution photo to the output size (sr). Uses the latent mean, scaled like the pipeline's."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    x = _to_tensor(image)
    if task == "sr":
        out = size or x.shape[-1] * 4
        x = F.interpolate(x, size=(out, out), mode="bicubic", align_corners=False).clamp(-1, 1)
    if task == "inpaint":
        if mask_image is None:
            raise ZooError("task 'inpaint' needs mask_image (white = pixels to fill)")
        m = torch.as_tensor(np.asarray(mask_image, dtype=np.float32))
        m = (m / 255.0 if m.max() > 1 else m).reshape(1, 1, *m.shape[-2:]) if m.ndim <= 3 else m
        x = x * (m < 0.5)
    vae = pipe.vae
    with torch.no_grad():
        lat = vae.encode(x.to(vae.device, vae.dtype)).latent_dist.mean
    return lat * vae.config.scaling_factor


def _to_tensor(image: Any) -> Any:
    import numpy as np
    import torch

    if isinstance(image, torch.Tensor):
        return image if image.ndim == 4 else image[None]
    a = np.asarray(image.convert("RGB") if hasattr(image, "convert") else image, dtype=np.float32)
    if a.ndim != 3 or a.shape[-1] != 3:
        raise ZooError(f"image must be HxWx3 (got shape {a.shape})")
    return torch.from_numpy(a / 127.5 - 1.0).permute(2, 0, 1)[None]


def set_task(model: Any, task: str, image: Any = None, mask_image: Any = None, size: Optional[int] = None) -> Any:
    """Switch the upcycled model to ``task``; conditioned tasks need ``image`` (a pipeline encodes
    it with its VAE; a bare UNet takes a condition latent tensor)."""
    from .modules import CONDITIONED, state_of

    unet = unet_of(model)
    try:
        state = state_of(unet)
    except ValueError:
        raise ZooError("this model is not MTU-upcycled: load it with techniques={'mtu': {}}") from None
    if task not in state.tasks:
        raise ZooError(f"unknown MTU task {task!r}; choose one of {', '.join(state.tasks)}")
    cond = None
    if task in CONDITIONED:
        if image is None:
            raise ZooError(f"task {task!r} needs image=")
        cond = image if unet is model else condition_latent(model, task, image, mask_image, size)
    state.task, state.cond = task, cond
    return model


def fold(model: Any, task: str) -> Any:
    """A plain single-task UNet of ``task`` (router weights folded into one FFN per layer)."""
    from .modules import fold as fold_unet

    unet = unet_of(model)
    if hasattr(unet, "fold") and callable(unet.fold) and type(unet).__name__ == "MTUUNet2DConditionModel":
        try:
            return unet.fold(task)
        except ValueError as exc:
            raise ZooError(str(exc)) from None
    try:
        return fold_unet(unet, task)
    except ValueError as exc:
        raise ZooError(str(exc)) from None
