"""Training data of the EdgeDiT recipe: latents the teacher samples itself for random classes
(DDIM with classifier-free guidance), cached as safetensors so every stage and rank reads the
same; and a random-init teacher for dry runs."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from zoo import ModelSpec


def teacher_latents(teacher: Any, scheduler: Any, path: Path, *, n: int, steps: int, guidance_scale: float, seed: int,
                    device: Any, num_classes: int, batch_size: int = 8, progress: bool = True) -> dict[str, Any]:
    """``{"latents": (n, C, H, W), "labels": (n,)}`` sampled by ``teacher`` (reused from ``path``)."""
    import torch
    from diffusers import DDIMScheduler
    from safetensors.torch import load_file, save_file

    path = Path(path)
    if path.is_file():
        data = load_file(str(path))
        if data["latents"].shape[0] == n:
            return data
    c = teacher.config
    sched = DDIMScheduler.from_config(scheduler.config)
    sched.set_timesteps(steps)
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, num_classes, (n,), generator=g)
    noise = torch.randn(n, c.in_channels, c.sample_size, c.sample_size, generator=g)
    with torch.no_grad():
        out = _sample(teacher, sched, labels, noise, guidance_scale, device, batch_size, progress)
    data = {"latents": torch.cat(out).contiguous(), "labels": labels}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    save_file(data, str(tmp))
    tmp.replace(path)
    return data


def _sample(teacher: Any, sched: Any, labels: Any, noise: Any, guidance_scale: float, device: Any, batch_size: int,
            progress: bool) -> list[Any]:
    import torch
    from tqdm.auto import tqdm

    c = teacher.config
    n, out = len(labels), []
    for lo in tqdm(range(0, n, batch_size), desc="teacher samples (latents)", disable=not progress, dynamic_ncols=True):
        y = labels[lo:lo + batch_size].to(device)
        x = noise[lo:lo + batch_size].to(device)
        null = torch.full_like(y, c.num_embeds_ada_norm)
        for t in sched.timesteps:
            tt = torch.full((2 * len(y),), int(t), device=device)
            eps = teacher(torch.cat([x, x]), tt, class_labels=torch.cat([y, null])).sample[:, : c.in_channels]
            cond, uncond = eps.chunk(2)
            x = sched.step(uncond + guidance_scale * (cond - uncond), t, x).prev_sample
        out.append(x.cpu())
    return out


def random_teacher(spec: ModelSpec, teacher_id: str) -> Any:
    """The teacher pipeline at random init, with an all-original EdgeDiT of the variant's teacher
    shape as its transformer (dry runs, tests)."""
    import zoo

    from .model import EdgeDiTTransformer2DModel

    pipe = zoo.build(teacher_id)
    pipe.register_modules(transformer=EdgeDiTTransformer2DModel(**{**spec.config["transformer"], "blocks": None}))
    return pipe
