"""MTU UNet classes: a diffusers UNet class plus ``mtu_*`` config fields, so ``from_pretrained``
rebuilds the experts, routers, task norms and task conv_in before loading their weights.

``MTUUNet2DConditionModel`` is SD1.5's (stock ``UNet2DConditionModel``); ``mtu_unet_class(cls)``
makes the same subclass of any other ModelMixin + ConfigMixin UNet with diffusers transformer
blocks (NanoSD's: the class is taken from the built model, so this plugin imports no other
plugin). Imports: torch and diffusers only (this file ships as remote code).
"""
from __future__ import annotations

import inspect
from typing import Any, Sequence

from diffusers import ModelMixin, UNet2DConditionModel  # noqa: F401  (ModelMixin: diffusers' loader looks it up here)
from diffusers.configuration_utils import FrozenDict, register_to_config

from .modules import TASKS, fold, state_of, upcycle

MTU_DEFAULTS = {"mtu_experts": 4, "mtu_tasks": list(TASKS), "mtu_task_dim": 64}
MTU_PREFIX = "MTU"


class MTUUNetMixin:
    """What every MTU UNet class adds to its base UNet class: the task switch and per-task folding."""

    _mtu_base: type = UNet2DConditionModel  # the plain UNet class fold returns

    def set_task(self, task: str, cond: Any = None) -> None:
        state = state_of(self)
        if task not in state.tasks:
            raise ValueError(f"unknown MTU task {task!r}; this UNet has {', '.join(state.tasks)}")
        state.task, state.cond = task, cond

    @property
    def task(self) -> str:
        return state_of(self).task

    @property
    def tasks(self) -> tuple:
        return state_of(self).tasks

    def fold(self, task: str) -> Any:
        """A plain UNet of the base class for ``task`` (routers folded into one FFN per layer)."""
        out = fold(self, task)
        out.__class__ = self._mtu_base
        # the stock config of a single-task UNet: no mtu_* fields, that task's input channels
        cfg = {k: v for k, v in out.config.items() if not k.startswith("mtu_")}
        out._internal_dict = FrozenDict({**cfg, "in_channels": out.conv_in.in_channels,
                                         "_class_name": self._mtu_base.__name__})
        return out


def _mtu_init(base: type) -> Any:
    """``__init__(**base fields, mtu_experts, mtu_tasks, mtu_task_dim)``, registered to the config with
    the base class's signature plus the mtu_* fields (what diffusers reads to save and rebuild)."""

    def __init__(self, *args: Any, mtu_experts: int = 4, mtu_tasks: Sequence[str] = TASKS, mtu_task_dim: int = 64,
                 **kwargs: Any) -> None:
        base.__init__(self, *args, **kwargs)
        upcycle(self, mtu_experts, mtu_tasks, mtu_task_dim, init=False)

    sig = inspect.signature(base.__init__)
    mtu = [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v) for k, v in MTU_DEFAULTS.items()]
    plain = [p for p in sig.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    __init__.__signature__ = sig.replace(parameters=[*plain, *mtu])
    return register_to_config(__init__)


_CLASSES: dict[type, type] = {}


def _module_for(base: type) -> str:
    """Where diffusers' loader looks the class up by name: this module for SD1.5's (defined here); the
    package for the others, whose ``__getattr__`` rebuilds ``MTU<C>`` from the registered MTU bases."""
    return __name__ if base is UNet2DConditionModel else __name__.rpartition(".")[0] or __name__


def mtu_unet_class(base: type) -> type:
    """The MTU subclass of the UNet class ``base`` (one per base class, named ``MTU<base name>``)."""
    if issubclass(base, MTUUNetMixin):
        return base
    if base not in _CLASSES:
        _CLASSES[base] = type(f"{MTU_PREFIX}{base.__name__}", (MTUUNetMixin, base), {
            "__init__": _mtu_init(base), "_mtu_base": base, "__module__": _module_for(base),
            "__doc__": f"{base.__name__} whose every transformer FFN is ``mtu_experts`` experts routed by task, with "
                       f"task LayerNorms before the FFNs and a task conv_in. ``set_task`` picks the task."})
    return _CLASSES[base]


MTUUNet2DConditionModel = mtu_unet_class(UNet2DConditionModel)

