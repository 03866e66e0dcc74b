"""One harness for every schedule and baseline: render a fixed set of conditions with fixed
seeds, batched in one pipeline call, and score images against a reference by PSNR.

Conditions are prompts for text-to-image pipelines and class labels for class-conditional
ones (DiT). Proving-ground models (tag 'proving-ground') draw digits, so their calibration
prompts are the digits prompts.
"""
from __future__ import annotations

import inspect
from typing import Any, Optional, Sequence

from zoo import ZooError


def conditions(spec: Any, n: int) -> list:
    """``n`` calibration conditions for the model of ``spec`` (cycled when ``n`` exceeds the set)."""
    if spec is not None and spec.task == "class-conditional-generation":
        base: Sequence = list(range(10 if "digits" in spec.tags or "proving-ground" in spec.tags else 1000))
    elif spec is not None and "proving-ground" in spec.tags:
        from zoo.proving import PROMPTS

        base = PROMPTS
    else:
        from zoo.evaluate.generation import PROMPTS

        base = PROMPTS
    return [base[i % len(base)] for i in range(n)]


def render(pipe: Any, conds: Sequence, seed: int = 0, steps: int = 20, size: Optional[int] = None,
           **call_kwargs: Any) -> list:
    """One HxWx3 uint8 image per condition; condition i uses a CPU generator seeded ``seed + i``.
    Modules are put in eval mode first (a random-init build comes in training mode: dropout on)."""
    import numpy as np
    import torch

    for comp in getattr(pipe, "components", {}).values():
        if isinstance(comp, torch.nn.Module) and comp.training:
            comp.eval()

    params = inspect.signature(pipe.__call__).parameters
    kw = dict(call_kwargs, num_inference_steps=steps, output_type="np",
              generator=[torch.Generator("cpu").manual_seed(seed + i) for i in range(len(conds))])
    if isinstance(conds[0], int):
        kw["class_labels"] = list(conds)
    else:
        kw["prompt"] = list(conds)
    if size is not None and "height" in params:
        kw.update(height=size, width=size)
    kw = {k: v for k, v in kw.items() if k in params or any(p.kind == p.VAR_KEYWORD for p in params.values())}
    with torch.no_grad():
        images = pipe(**kw).images
    images = np.asarray(images)
    if images.dtype != np.uint8:
        images = (np.clip(images, 0, 1) * 255).round().astype(np.uint8)
    return list(images)


def mean_psnr(images: Sequence, reference: Sequence) -> float:
    """Mean PSNR (Y channel, zoo.evaluate's teacher-aligned metric) of paired uint8 images."""
    from zoo.evaluate.generation import aligned_scores

    if len(images) != len(reference):
        raise ZooError(f"{len(images)} images for {len(reference)} references")
    return float(aligned_scores(images, reference)["ta_psnr"])


def denoiser_calls(pipe: Any, steps: int) -> int:
    """How many denoiser calls the pipeline's sampler makes for ``steps`` (its timesteps' length)."""
    import copy

    sched = copy.deepcopy(pipe.scheduler)
    sched.set_timesteps(steps)
    return len(sched.timesteps)


def use_sampler(pipe: Any, sampler: Optional[str]) -> Any:
    """Swap in a diffusers scheduler class by name (same config); None keeps the pipeline's."""
    if sampler and type(pipe.scheduler).__name__ != sampler:
        import diffusers

        cls = getattr(diffusers, sampler, None)
        if cls is None or not hasattr(cls, "from_config"):
            raise ZooError(f"unknown sampler {sampler!r}: name a diffusers scheduler class, e.g. DDIMScheduler")
        pipe.scheduler = cls.from_config(pipe.scheduler.config)
    return pipe


def denoiser_fingerprint(pipe: Any) -> str:
    """sha256 of the UNet / transformer weights: a stored schedule names the weights it was searched on."""
    import hashlib

    import torch

    from .controller import denoiser_of

    h = hashlib.sha256()
    for name, t in sorted(denoiser_of(pipe).state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()
