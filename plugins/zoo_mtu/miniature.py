"""MTU's miniature evaluation on the proving ground's held-out photos (test split): per-task outputs of
an MTU pipeline (``task=``), of the single-task teachers (mini-edit's InstructPix2Pix call, mini-sr's
upscaler) and the identity / bicubic baseline, scored with ``zoo.proving.edits.score`` (PSNR RGB, SSIM Y).

Held-out sets: edit = the five global edits (grayscale, invert, flip, blur, brighten) in turn; sr = crops
whose input is the bicubic x4 upscale of their bicubic x4 downscale (the MTU and mini-sr pipelines get the
8x8 downscale itself and upscale it the same way); inpaint = crops with a mid-gray square (the MTU
pipeline gets the crop and the square as mask_image).
"""
from __future__ import annotations

from typing import Any

from .data import GLOBAL_EDITS

TASKS = ("edit", "sr", "inpaint")
SR_SCALE = 4


def heldout(task: str, size: int = 32, count: int = 30, seed: int = 0) -> Any:
    """The held-out EditSet of ``task`` (``count`` crops of the test photos)."""
    from zoo.proving import edits as E

    return E.edits("test", size=size, count=count, ops=GLOBAL_EDITS if task == "edit" else (task,), seed=seed)


def task_inputs(task: str, ds: Any) -> dict[str, Any]:
    """What ``pipe(..., task=task)`` takes for the EditSet ``ds``: image (and mask_image)."""
    import numpy as np

    from zoo.proving import edits as E
    from zoo.proving.photos import downscale_batch

    if task == "sr":
        return {"image": list(downscale_batch(ds.targets, SR_SCALE))}
    out = {"image": list(ds.inputs)}
    if task == "inpaint":
        out["mask_image"] = list((np.all(ds.inputs == E.HOLE_GRAY, axis=-1) * 255).astype(np.uint8))
    return out


def _uint8(images: Any) -> Any:
    import numpy as np

    return (np.clip(np.asarray(images), 0, 1) * 255).round().astype(np.uint8)


def run_mtu(pipe: Any, task: str, ds: Any, steps: int = 10, batch: int = 32, seed: int = 0) -> Any:
    """uint8 outputs of the MTU pipeline on ``task`` (guidance 1: the conditional mean PSNR rewards)."""
    import numpy as np
    import torch

    inputs, outs = task_inputs(task, ds), []
    for i in range(0, len(ds), batch):
        sl = slice(i, i + batch)
        kw = {k: v[sl] for k, v in inputs.items()}
        res = pipe(prompt=list(ds.instructions[sl]), task=task, num_inference_steps=steps, guidance_scale=1.0,
                   generator=torch.Generator().manual_seed(seed + i), output_type="np", **kw).images
        outs.append(_uint8(res))
    return np.concatenate(outs)


def run_editor(pipe: Any, ds: Any, steps: int = 10, seed: int = 0) -> Any:
    """uint8 outputs of an InstructPix2Pix-style editor (mini-edit) with its instructions, no guidance."""
    from zoo.proving import edits as E

    return E.pipeline_editor(pipe, batch=32, seed=seed, progress=False, num_inference_steps=steps, guidance_scale=1.0,
                             image_guidance_scale=1.0, output_type="np")(ds)


def run_upscaler(pipe: Any, ds: Any, seed: int = 0) -> Any:
    """uint8 outputs of mini-sr (its default single DDIM step) on the 8x8 downscales of the targets."""
    import torch
    from PIL import Image

    lr = [Image.fromarray(a) for a in task_inputs("sr", ds)["image"]]
    return _uint8(pipe(image=lr, generator=torch.Generator().manual_seed(seed), output_type="np").images)


def router_distances(unet: Any, tasks: Any = TASKS) -> dict[tuple, float]:
    """Mean |w_a - w_b| of the router weights over layers and experts, per pair of tasks."""
    import torch

    ffs = [m for m in unet.modules() if type(m).__name__ == "MTUFeedForward"]
    with torch.no_grad():
        w = {t: torch.stack([f.weights(t) for f in ffs]) for t in tasks}
    return {(a, b): float((w[a] - w[b]).abs().mean()) for i, a in enumerate(tasks) for b in tasks[i + 1:]}


def vae_round_trip(pipe: Any, ds: Any) -> Any:
    """uint8 decode(encode(target)) with the pipeline's VAE: the ceiling of any model denoising in its latent."""
    import torch

    from zoo.proving.photos import to_tensor, to_uint8

    vae = pipe.vae
    with torch.no_grad():
        return to_uint8(vae.decode(vae.encode(to_tensor(ds.targets)).latent_dist.mode()).sample)
