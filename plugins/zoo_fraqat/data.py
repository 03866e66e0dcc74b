"""Knowledge-distillation inputs for a denoiser: latents the full-precision pipeline generates,
its conditioning (both halves of classifier-free guidance), re-noised at uniform timesteps."""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Optional

import torch

from zoo import ZooError


@dataclass
class KDData:
    x0: torch.Tensor                     # [N, C, H, W] clean latents
    cond: list[dict[str, torch.Tensor]]  # conditioning inputs per sample (batch 1 each)
    latent_key: str
    timestep_key: Optional[str]
    scheduler: Any
    example: dict[str, torch.Tensor]     # one complete input dict (shapes and dtypes)

    def __len__(self) -> int:
        return len(self.x0)

    def batch(self, size: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
        """``size`` inputs: random latents and conditioning, t ~ U{0..T-1}, x_t from the scheduler."""
        return self.batch_with_target(size, gen)[0]

    def batch_with_target(self, size: int, gen: torch.Generator) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Inputs as ``batch`` and the denoising target for them (noise, velocity or x0, per the
        scheduler's prediction type; flow matching: noise - x0)."""
        i = torch.randint(0, len(self.x0), (size,), generator=gen)
        j = torch.randint(0, len(self.cond), (size,), generator=gen)
        x0 = self.x0[i]
        out = {k: torch.cat([self.cond[int(n)][k] for n in j]) for k in self.cond[0]}
        if self.timestep_key is None:
            out[self.latent_key] = x0
            return out, x0
        t_max = int(getattr(self.scheduler.config, "num_train_timesteps", 1000))
        t = torch.randint(0, t_max, (size,), generator=gen)
        noise = torch.randn(x0.shape, generator=gen)
        out[self.latent_key] = noisy(self.scheduler, x0, noise, t)
        out[self.timestep_key] = t.to(self.example[self.timestep_key].dtype)
        return out, target(self.scheduler, x0, noise, t)


def target(scheduler: Any, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    if not hasattr(scheduler, "add_noise"):
        return noise - x0  # flow matching velocity
    kind = getattr(scheduler.config, "prediction_type", "epsilon")
    if kind == "v_prediction":
        return scheduler.get_velocity(x0, noise, t)
    return x0 if kind == "sample" else noise


def noisy(scheduler: Any, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    if hasattr(scheduler, "add_noise"):
        return scheduler.add_noise(x0, noise, t)
    # flow matching (SD3-style): x_t = (1 - sigma) x0 + sigma noise with sigma = t / T
    sigma = (t.float() / float(scheduler.config.num_train_timesteps)).reshape(-1, *[1] * (x0.dim() - 1))
    return (1 - sigma) * x0 + sigma * noise


def denoiser_name(model: Any, names: list[str]) -> str:
    for n in names:
        if isinstance(getattr(model, n, None), torch.nn.Module):
            return n
    raise ZooError(f"{type(model).__name__} has none of the components {names} to quantise: "
                   "pass components=[...] naming its denoiser")


def pipeline_kd_data(pipe: Any, spec: Any, comp_name: str, prompts: list[str], steps: int, seed: int,
                     progress: bool = True) -> KDData:
    """Run the full-precision pipeline on ``prompts``; keep its final latents and the
    conditioning its denoiser received at the first step."""
    comp = spec.component(comp_name)
    module = getattr(pipe, comp_name)
    sig = inspect.signature(module.forward)
    names = list(comp.inputs)
    seen: list[dict] = []

    def hook(_m: Any, args: tuple, kwargs: dict) -> None:
        if len(seen) < n_done[0] + 1:  # the first denoiser call of each prompt
            bound = sig.bind_partial(*args, **kwargs).arguments
            seen.append({n: bound[n].detach() for n in names if isinstance(bound.get(n), torch.Tensor)})

    n_done = [0]
    x0 = []
    handle = module.register_forward_pre_hook(hook, with_kwargs=True)
    size = spec.resolution
    extra = {}
    if "use_resolution_binning" in inspect.signature(pipe.__call__).parameters:
        extra["use_resolution_binning"] = False  # PixArt: keep the spec's resolution as is
    try:
        from tqdm.auto import tqdm

        for i, p in enumerate(tqdm(prompts, desc="KD latents (full precision)", disable=not progress)):
            with torch.no_grad():
                out = pipe(p, num_inference_steps=steps, height=size, width=size, output_type="latent",
                           generator=torch.Generator().manual_seed(seed + i), **extra)
            x0.append(out.images if isinstance(out.images, torch.Tensor) else torch.as_tensor(out.images))
            n_done[0] += 1
    finally:
        handle.remove()
    latent_key = next((n for n in names if list(comp.inputs[n][1:]) == list(x0[0].shape[1:])), None)
    if latent_key is None:
        raise ZooError(f"no input of {spec.id}.{comp_name} has the shape of the generated latents {list(x0[0].shape)}")
    t_key = next((n for n in names if "timestep" in n), None)
    cond = []
    for rec in seen:
        b = rec[latent_key].shape[0]
        for k in range(b):  # split the CFG batch: each half is a conditioning sample
            cond.append({n: _row(v, k, comp.inputs[n]) for n, v in rec.items() if n not in (latent_key, t_key)})
    example = {**cond[0], latent_key: x0[0][:1], **({t_key: _row(seen[0][t_key], 0, comp.inputs[t_key])} if t_key else {})}
    return KDData(x0=torch.cat(x0), cond=cond, latent_key=latent_key, timestep_key=t_key, scheduler=pipe.scheduler,
                  example=example)


def _row(v: torch.Tensor, k: int, shape: list[int]) -> torch.Tensor:
    # the captured shapes, not the spec's export shapes (a pipeline may pad text longer)
    if v.dim() == 0:
        return v.reshape([1] * len(shape))
    return v[k % v.shape[0]][None].clone()
