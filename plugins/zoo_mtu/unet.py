"""SD1.5's UNet with MTU's modules: the stock ``UNet2DConditionModel`` plus ``mtu_*`` config fields,
so ``from_pretrained`` rebuilds the experts, routers, task norms and task conv_in before loading
their weights. Imports: torch and diffusers only (this file ships as remote code).
"""
from __future__ import annotations

import inspect
from typing import Any, Sequence

from diffusers import ModelMixin, UNet2DConditionModel  # noqa: F401  (ModelMixin: diffusers' loader looks it up here)
from diffusers.configuration_utils import register_to_config

from .modules import TASKS, fold, state_of, upcycle

MTU_DEFAULTS = {"mtu_experts": 4, "mtu_tasks": list(TASKS), "mtu_task_dim": 64}


class MTUUNet2DConditionModel(UNet2DConditionModel):
    """UNet2DConditionModel whose every transformer FFN is ``mtu_experts`` experts routed by task,
    with task LayerNorms before the FFNs and a task conv_in. ``set_task`` picks the task."""

    def __init__(self, mtu_experts: int = 4, mtu_tasks: Sequence[str] = TASKS, mtu_task_dim: int = 64, **kwargs: Any):
        super().__init__(**kwargs)
        upcycle(self, mtu_experts, mtu_tasks, mtu_task_dim, init=False)

    def set_task(self, task: str, cond: Any = None) -> None:
        state = state_of(self)
        if task not in state.tasks:
            raise ValueError(f"unknown MTU task {task!r}; this UNet has {', '.join(state.tasks)}")
        state.task, state.cond = task, cond

    @property
    def task(self) -> str:
        return state_of(self).task

    def fold(self, task: str) -> UNet2DConditionModel:
        """A plain UNet2DConditionModel for ``task`` (routers folded into one FFN per layer)."""
        out = fold(self, task)
        out.__class__ = UNet2DConditionModel
        # the stock config of a single-task UNet: no mtu_* fields, that task's input channels
        from diffusers.configuration_utils import FrozenDict

        cfg = {k: v for k, v in out.config.items() if not k.startswith("mtu_")}
        out._internal_dict = FrozenDict({**cfg, "in_channels": out.conv_in.in_channels,
                                         "_class_name": "UNet2DConditionModel"})
        return out


# The signature diffusers reads for the config: the stock UNet's fields plus the mtu_* fields.
_base = inspect.signature(UNet2DConditionModel.__init__)
_mtu = inspect.signature(MTUUNet2DConditionModel.__init__)
MTUUNet2DConditionModel.__init__.__signature__ = _base.replace(parameters=[
    *[p for p in _base.parameters.values()],
    *[p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for n, p in _mtu.parameters.items() if n.startswith("mtu_")],
])
MTUUNet2DConditionModel.__init__ = register_to_config(MTUUNet2DConditionModel.__init__)
