"""End-to-end alignment: fine-tune an assembled student so its noise prediction on its own
noised latents matches the teacher's on the teacher's latents,

    L = || U_s(noisy(z_s), t, c) - U_t(noisy(z_t), t, c) ||^2,

with the same timestep t and the same noise for both (DDPM forward process on scaled latents
[choice]). Without a student VAE, z_s = z_t.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Optional

import torch

from .config import AlignConfig
from .loop import TrainResult, seed_for, train


def unet_call(model: Any, noisy: torch.Tensor, t: torch.Tensor, cond: Any) -> torch.Tensor:
    """A diffusers-style text-conditioned denoiser: ``model(x, t, encoder_hidden_states=c).sample``."""
    out = model(noisy, t, encoder_hidden_states=cond, return_dict=False)
    return out[0] if isinstance(out, (tuple, list)) else out


def ddpm(cfg: AlignConfig) -> Any:
    from diffusers import DDPMScheduler

    return DDPMScheduler(num_train_timesteps=cfg.num_train_timesteps, beta_start=cfg.beta_start,
                         beta_end=cfg.beta_end, beta_schedule=cfg.beta_schedule)


def _noised(sched: Any, batch: Mapping[str, Any], gen: torch.Generator, device: Any):
    z_t = batch["z_t"]
    z_s = batch.get("z_s")
    z_s = z_t if z_s is None else z_s
    n = z_t.shape[0]
    t = torch.randint(0, sched.config.num_train_timesteps, (n,), generator=gen)
    eps = torch.randn(z_t.shape, generator=gen)
    if z_s.shape != z_t.shape:
        eps_s = torch.randn(z_s.shape, generator=gen)  # latents of another shape: noise of their own
    else:
        eps_s = eps
    t, eps, eps_s = t.to(device), eps.to(device), eps_s.to(device)
    return sched.add_noise(z_t, eps, t), sched.add_noise(z_s, eps_s, t), t


def align_student(
    student: Any,
    teacher: Any,
    batch_fn: Callable[[int, torch.Generator], Mapping[str, Any]],
    cfg: AlignConfig,
    *,
    call: Callable[[Any, torch.Tensor, torch.Tensor, Any], torch.Tensor] = unet_call,
    trainable: Optional[Mapping[str, Any]] = None,
    resume: bool = True,
    progress: bool = True,
    device: Any = "cpu",
) -> TrainResult:
    """Align ``student`` to ``teacher``. ``batch_fn(step, generator)`` returns ``{"z_t": ...,
    "z_s": ... (optional), "cond": ...}`` on ``device``; ``trainable`` names the modules to train and
    checkpoint (default ``{"unet": student}``; add the student VAE encoder to train it through z_s).
    Weights land in ``{cfg.out_dir}/{name}.safetensors``."""
    sched = ddpm(cfg)
    teacher.requires_grad_(False).eval()
    modules = dict(trainable or {"unet": student})

    def loss(step: int, gen: torch.Generator) -> torch.Tensor:
        batch = batch_fn(step, gen)
        noisy_t, noisy_s, t = _noised(sched, batch, gen, device)
        with torch.no_grad():
            target = call(teacher, noisy_t, t, batch["cond"])
        return torch.nn.functional.mse_loss(call(student, noisy_s, t, batch["cond"]).float(), target.float())

    return train(modules, loss, cfg, Path(cfg.out_dir), desc="align student to teacher", key="align",
                 resume=resume, progress=progress)


@torch.no_grad()
def noise_prediction_error(
    student: Any,
    teacher: Any,
    batch_fn: Callable[[int, torch.Generator], Mapping[str, Any]],
    n_batches: int = 8,
    *,
    seed: int = 12345,
    num_train_timesteps: int = 1000,
    call: Callable[[Any, torch.Tensor, torch.Tensor, Any], torch.Tensor] = unet_call,
    device: Any = "cpu",
    schedule: Optional[AlignConfig] = None,
) -> float:
    """Teacher-aligned error: mean MSE between student and teacher noise predictions on a fixed
    set of noised latents (the same timesteps and noise for both). A held-out ``seed`` keeps it
    apart from training batches. ``schedule`` sets the forward process (default: SD's)."""
    sched = ddpm(schedule or AlignConfig(num_train_timesteps=num_train_timesteps))
    was = student.training
    student.eval()
    teacher.eval()
    total = 0.0
    for b in range(n_batches):
        gen = torch.Generator().manual_seed(seed_for(seed, "eval", b))
        batch = batch_fn(b, gen)
        noisy_t, noisy_s, t = _noised(sched, batch, gen, device)
        total += torch.nn.functional.mse_loss(call(student, noisy_s, t, batch["cond"]).float(),
                                              call(teacher, noisy_t, t, batch["cond"]).float()).item()
    student.train(was)
    return total / n_batches
