"""MTU's modules: the upcycled FFN (N experts + a per-layer task router), the task-specific
LayerNorm before it, and the task-specific conv_in; ``upcycle`` puts them into any UNet whose
transformer blocks are diffusers ``BasicTransformerBlock``s with GEGLU FFNs (SD1.5, NanoSD, the
proving ground's UNets), and ``fold`` turns one task's routed FFNs back into plain FFNs.

Which task runs is held by one ``TaskState`` per UNet that every MTU module reads (routing depends
on the task only, never on the token or timestep). Imports: torch and diffusers only (this file
ships as remote code with the MTU UNet class).
"""
from __future__ import annotations

import copy
from typing import Any, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

TASKS = ("t2i", "edit", "sr", "inpaint")
# Tasks whose UNet input is the noisy latent concatenated with a condition latent (8 channels).
CONDITIONED = ("edit", "sr", "inpaint")
STATE_ATTR = "_mtu_state"


class TaskState:
    """The active task and, for conditioned tasks, the condition latent conv_in concatenates."""

    def __init__(self, tasks: Sequence[str]):
        self.tasks = tuple(tasks)
        self.task = self.tasks[0]
        self.cond: Optional[torch.Tensor] = None

    def index(self) -> int:
        return self.tasks.index(self.task)


class Expert(nn.Module):
    """One GEGLU FFN of hidden width d/N (a contiguous slice of the pretrained hidden units)."""

    def __init__(self, dim: int, hidden: int, dim_out: int):
        super().__init__()
        self.proj = nn.Linear(dim, 2 * hidden)  # [hidden half; gate half], as diffusers' GEGLU
        self.out = nn.Linear(hidden, dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, gate = self.proj(x).chunk(2, dim=-1)
        return self.out(h * F.gelu(gate))


class MTUFeedForward(nn.Module):
    """FFN(x) = sum_i w_i(task) E_i(x), w = softmax(MLP(e_task)) with a per-layer task embedding."""

    def __init__(self, dim: int, inner: int, dim_out: int, n_experts: int, tasks: Sequence[str], task_dim: int,
                 state: Optional[TaskState] = None):
        super().__init__()
        if inner % n_experts:
            raise ValueError(f"FFN hidden width {inner} does not split into {n_experts} equal experts")
        self.n_experts, self.tasks = n_experts, tuple(tasks)
        self.experts = nn.ModuleList([Expert(dim, inner // n_experts, dim_out) for _ in range(n_experts)])
        self.task_embed = nn.Embedding(len(self.tasks), task_dim)
        self.router = nn.Sequential(nn.Linear(task_dim, task_dim), nn.SiLU(), nn.Linear(task_dim, n_experts))
        # zero last layer: uniform weights 1/N at step 0, so the N*-scaled slices sum to the original FFN
        nn.init.zeros_(self.router[2].weight)
        nn.init.zeros_(self.router[2].bias)
        object.__setattr__(self, STATE_ATTR, state)

    def weights(self, task: Optional[str] = None) -> torch.Tensor:
        """Router weights (N,) of ``task`` (default: the active task)."""
        idx = self.tasks.index(task or getattr(self, STATE_ATTR).task)
        e = self.task_embed(torch.tensor([idx], device=self.task_embed.weight.device))[0]
        return torch.softmax(self.router(e).float(), dim=-1).to(e.dtype)

    def forward(self, hidden_states: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        w = self.weights()
        out = None
        for i, expert in enumerate(self.experts):
            y = w[i].to(hidden_states.dtype) * expert(hidden_states)
            out = y if out is None else out + y
        return out

    @torch.no_grad()
    def init_from(self, ff: nn.Module) -> None:
        """Split the pretrained GEGLU FFN ``ff`` into contiguous slices of hidden units; each expert's
        output weight is scaled by N (the router starts uniform at 1/N) and keeps the full bias."""
        proj, out = ff.net[0].proj, ff.net[2]
        inner, n = out.in_features, self.n_experts
        h = inner // n
        for i, e in enumerate(self.experts):
            rows = torch.cat([torch.arange(i * h, (i + 1) * h), torch.arange(inner + i * h, inner + (i + 1) * h)])
            e.proj.weight.copy_(proj.weight[rows])
            e.proj.bias.copy_(proj.bias[rows])
            e.out.weight.copy_(out.weight[:, i * h:(i + 1) * h] * n)
            e.out.bias.copy_(out.bias)

    @torch.no_grad()
    def fold(self, task: str) -> nn.Module:
        """One diffusers GEGLU FeedForward of the original size computing this layer for ``task``."""
        from diffusers.models.attention import FeedForward

        e0 = self.experts[0]
        dim, h, dim_out = e0.proj.in_features, e0.out.in_features, e0.out.out_features
        n = self.n_experts
        ff = FeedForward(dim, dim_out=dim_out, activation_fn="geglu", inner_dim=n * h, bias=True)
        ff = ff.to(device=e0.proj.weight.device, dtype=e0.proj.weight.dtype)
        w = self.weights(task).to(e0.out.weight.dtype)
        halves = [e.proj.weight.chunk(2, dim=0) for e in self.experts]
        bhalves = [e.proj.bias.chunk(2, dim=0) for e in self.experts]
        ff.net[0].proj.weight.copy_(torch.cat([a for a, _ in halves] + [g for _, g in halves]))
        ff.net[0].proj.bias.copy_(torch.cat([a for a, _ in bhalves] + [g for _, g in bhalves]))
        ff.net[2].weight.copy_(torch.cat([w[i] * e.out.weight for i, e in enumerate(self.experts)], dim=1))
        ff.net[2].bias.copy_(sum(w[i] * e.out.bias for i, e in enumerate(self.experts)))
        return ff


class TaskLayerNorm(nn.Module):
    """One LayerNorm per task (each a copy of the pretrained norm), picked by the active task."""

    def __init__(self, norm: nn.Module, tasks: Sequence[str], state: Optional[TaskState] = None):
        super().__init__()
        self.norms = nn.ModuleDict({t: copy.deepcopy(norm) for t in tasks})
        object.__setattr__(self, STATE_ATTR, state)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norms[getattr(self, STATE_ATTR).task](x)


class TaskConvIn(nn.Module):
    """conv_in per task: t2i takes the noisy latent (``latent_channels``); conditioned tasks take it
    concatenated with a condition latent (``latent_channels + cond_channels``). From a text-to-image
    UNet (conv_in over the latent only) t2i keeps the pretrained conv and the conditioned tasks' extra
    input weights start at zero (step 0 ignores the condition); from an InstructPix2Pix-style UNet
    (conv_in already over latent + condition) the conditioned tasks keep the pretrained conv and t2i
    takes its latent slice. A latent-only input to a conditioned task is concatenated with the
    state's condition latent (repeated over a batch that classifier-free guidance doubled)."""

    def __init__(self, conv: nn.Conv2d, tasks: Sequence[str], state: Optional[TaskState] = None, cond_channels: int = 4,
                 latent_channels: Optional[int] = None):
        super().__init__()
        latent = conv.in_channels if latent_channels is None else latent_channels
        if conv.in_channels not in (latent, latent + cond_channels):
            raise ValueError(f"conv_in has {conv.in_channels} input channels: MTU expects the latent ({latent}) or "
                             f"latent + condition ({latent + cond_channels})")
        live = conv.weight.device.type != "meta"

        def new_conv(cin: int) -> nn.Conv2d:
            return nn.Conv2d(cin, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                             device=conv.weight.device, dtype=conv.weight.dtype)

        convs = {}
        for t in tasks:
            cin = latent + cond_channels if t in CONDITIONED else latent
            if cin == conv.in_channels:
                convs[t] = copy.deepcopy(conv)
                continue
            c = new_conv(cin)
            if live:
                with torch.no_grad():
                    c.weight.zero_()
                    n = min(cin, conv.in_channels)  # the latent channels come first in both layouts
                    c.weight[:, :n].copy_(conv.weight[:, :n])
                    c.bias.copy_(conv.bias)
            convs[t] = c
        self.convs = nn.ModuleDict(convs)
        self.in_channels, self.out_channels = latent, conv.out_channels
        object.__setattr__(self, STATE_ATTR, state)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        state = getattr(self, STATE_ATTR)
        conv = self.convs[state.task]
        if x.shape[1] != conv.in_channels:
            if state.cond is None:
                raise ValueError(f"MTU task {state.task!r} needs a condition latent: set it with zoo_mtu.set_task(..., "
                                 "image=...) or pass the 8-channel input")
            cond = state.cond.to(device=x.device, dtype=x.dtype)
            if cond.shape[0] != x.shape[0]:
                cond = cond.repeat(x.shape[0] // cond.shape[0], 1, 1, 1)
            x = torch.cat([x, cond], dim=1)
        return conv(x)


def transformer_blocks(unet: nn.Module) -> list[nn.Module]:
    from diffusers.models.attention import BasicTransformerBlock

    return [m for m in unet.modules() if isinstance(m, BasicTransformerBlock)]


def upcycle(unet: nn.Module, n_experts: int = 4, tasks: Sequence[str] = TASKS, task_dim: int = 64,
            init: bool = True) -> TaskState:
    """Put MTU's modules into ``unet`` in place. ``init=True`` copies the pretrained weights so the
    upcycled UNet reproduces the original for every task at step 0 (conditioned tasks ignore the
    condition then); ``init=False`` only builds the structure (a weight load follows)."""
    from diffusers.models.activations import GEGLU

    state = TaskState(tasks)
    blocks = transformer_blocks(unet)
    if not blocks:
        raise ValueError(f"{type(unet).__name__} has no diffusers BasicTransformerBlock to upcycle")
    for b in blocks:
        ff = b.ff
        if isinstance(ff, MTUFeedForward) or not isinstance(ff.net[0], GEGLU):
            raise ValueError(f"MTU upcycles GEGLU FFNs only (got {type(ff.net[0]).__name__})")
        proj, out = ff.net[0].proj, ff.net[2]
        moe = MTUFeedForward(proj.in_features, out.in_features, out.out_features, n_experts, tasks, task_dim, state)
        moe = moe.to(device=proj.weight.device, dtype=proj.weight.dtype)
        if init and proj.weight.device.type != "meta":
            moe.init_from(ff)
        b.ff = moe
        b.norm3 = TaskLayerNorm(b.norm3, tasks, state)
    latent = getattr(getattr(unet, "config", None), "out_channels", None)  # the noisy latent's channels
    unet.conv_in = TaskConvIn(unet.conv_in, tasks, state, latent_channels=latent)
    object.__setattr__(unet, STATE_ATTR, state)
    return state


def state_of(unet: nn.Module) -> TaskState:
    state = getattr(unet, STATE_ATTR, None)
    if state is None:
        raise ValueError(f"{type(unet).__name__} is not MTU-upcycled")
    return state


def mtu_parameters(unet: nn.Module) -> list[nn.Parameter]:
    """The trainable parameters: experts, routers, task embeddings, task norms, task conv_in."""
    return [p for m in unet.modules() if isinstance(m, (MTUFeedForward, TaskLayerNorm, TaskConvIn))
            for p in m.parameters()]


def freeze_all_but_mtu(unet: nn.Module) -> None:
    unet.requires_grad_(False)
    for p in mtu_parameters(unet):
        p.requires_grad_(True)


@torch.no_grad()
def fold(unet: nn.Module, task: str) -> nn.Module:
    """A copy of ``unet`` for ``task`` alone: each routed FFN -> one FFN of the original size, each
    task norm -> that task's norm, conv_in -> that task's conv (8 input channels for a conditioned
    task). No router and no MTU module is left: it exports like a single-task UNet."""
    state = state_of(unet)
    if task not in state.tasks:
        raise ValueError(f"unknown MTU task {task!r}; this UNet has {', '.join(state.tasks)}")
    out = copy.deepcopy(unet)
    for b in transformer_blocks(out):
        b.ff = b.ff.fold(task)
        b.norm3 = b.norm3.norms[task]
    conv = out.conv_in.convs[task]
    out.conv_in = conv
    object.__setattr__(out, STATE_ATTR, None)
    return out
