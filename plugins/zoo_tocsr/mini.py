"""tocsr-x4-mini: TOC-SR's one-step recipe in miniature, distilled from the proving ground's
trained multi-step SR teacher ``mini-sr`` on its training photos (held-out photos never seen).

The student is a TOCSRPipeline: an f2c16 AutoencoderKL (16 latent channels, 0.22M params) and the
tiny TOCSRUNet layout with tocsr-x4's block choices (0.63M params) [choice], decoding a latent
residual over its bicubic input (``skip``: the miniature VAE is far from lossless). Two stages, one command
(``zoo train tocsr-x4-mini`` or ``benchmarks/tocsr_miniature.py``):

1. ``vae``      the autoencoder learns to reconstruct HR patches (MSE on the posterior mode);
2. ``onestep``  VAE + UNet trained end to end as a one-step x4 generator (UNet conv_out zero-initialised,
                so training starts near bicubic): regression to HR and score distillation against the
                frozen teacher in its own space (the residual over bicubic); regression to the teacher's
                DDIM samples is available (``teacher_weight``) but off by default: on held-out patches
                mini-sr's output is below bicubic in PSNR, so it pulls the student down. The student's
                input is the pipeline's own bicubic (torch), as at inference.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field


class MiniConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    out_dir: Path = Path("runs/tocsr-x4-mini")
    teacher: str = Field("mini-sr", description="the multi-step SR teacher (zoo id)")
    teacher_weights: Optional[str] = Field(None, description="a folder of teacher weights (default: shipped)")
    teacher_pretrained: bool = Field(True, description="False: a random-init teacher (tests of the plumbing only)")
    teacher_steps: int = Field(1, ge=1, description="DDIM steps of the teacher's targets")
    patch: int = Field(32, ge=16, description="HR training patch")
    count: int = Field(1024, ge=8)
    vae_steps: int = Field(200, ge=1)
    vae_batch_size: int = Field(8, ge=1)
    steps: int = Field(160, ge=1)
    batch_size: int = Field(4, ge=1)
    lr: float = Field(1e-3, gt=0)
    teacher_weight: float = Field(0.0, ge=0, description="regression to the teacher's samples (0: off; mini-sr's "
                                  "one-step output is below bicubic on held-out patches, so it pulls PSNR down)")
    hr_weight: float = Field(1.0, ge=0, description="regression to the HR patch")
    dm_weight: float = Field(0.01, ge=0, description="score distillation against the teacher")
    seed: int = 0
    resume: bool = Field(True, description="continue each stage from its checkpoint (zoo.distill.train)")
    progress: bool = True


def mini_pipeline() -> Any:
    """The untrained student: TOCSRPipeline(TOCSRUNet with tocsr-x4's choices, f2c16 VAE)."""
    import zoo

    return zoo.load("tocsr-x4-mini", pretrained=False)


def load_teacher(cfg: MiniConfig) -> Any:
    import zoo

    if cfg.teacher_weights:
        pipe = zoo.load(cfg.teacher, weights=cfg.teacher_weights)
    else:
        pipe = zoo.load(cfg.teacher, pretrained=cfg.teacher_pretrained)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def teacher_outputs(teacher: Any, lr: Any, steps: int, seed: int, batch: int = 64) -> Any:
    """The multi-step teacher's x4 outputs (float NCHW in [-1, 1]) for LR uint8 NHWC patches."""
    import numpy as np
    import torch
    from PIL import Image

    outs = []
    for i in range(0, len(lr), batch):
        imgs = [Image.fromarray(a) for a in lr[i:i + batch]]
        o = teacher(image=imgs, num_inference_steps=steps, generator=torch.Generator().manual_seed(seed + i),
                    output_type="np", tile=None).images
        outs.append(torch.from_numpy(np.asarray(o)).permute(0, 3, 1, 2) * 2 - 1)
    return torch.cat(outs)


def train_mini(cfg: MiniConfig) -> Path:
    """Both stages; writes ``{out_dir}/pipeline`` (diffusers layout) and returns it."""
    import torch
    import torch.nn.functional as F

    from zoo.distill import TrainConfig, load_weights, train
    from zoo.proving.photos import sr_pairs, to_tensor, upscale_batch

    from .losses import regression, score_distillation

    torch.manual_seed(cfg.seed)
    out = Path(cfg.out_dir)
    teacher = load_teacher(cfg)
    lr_u8, hr_u8 = sr_pairs("train", cfg.patch, cfg.count, 4, cfg.seed)
    lr, hr = to_tensor(lr_u8), to_tensor(hr_u8)
    bic = to_tensor(upscale_batch(lr_u8))  # the teacher's condition (PIL bicubic, as mini-sr was trained)
    up = F.interpolate(lr, scale_factor=4, mode="bicubic", align_corners=False).clamp(-1, 1)  # the student's
    target = None
    if cfg.teacher_weight > 0:
        with torch.no_grad():
            target = teacher_outputs(teacher, lr_u8, cfg.teacher_steps, cfg.seed)
    student = mini_pipeline()
    vae, unet = student.vae, student.unet
    torch.nn.init.zeros_(unet.conv_out.weight)
    torch.nn.init.zeros_(unet.conv_out.bias)

    def pick(gen: torch.Generator, size: int) -> torch.Tensor:
        return torch.randint(0, len(hr), (size,), generator=gen)

    def vae_loss(step: int, gen: torch.Generator) -> torch.Tensor:
        x = hr[pick(gen, cfg.vae_batch_size)]
        return F.mse_loss(vae.decode(vae.encode(x).latent_dist.mode()).sample, x)

    tc = dict(lr=cfg.lr, seed=cfg.seed, checkpoint_every=40, lr_schedule="cosine")
    unet.requires_grad_(False)
    train({"vae": vae}, vae_loss, TrainConfig(steps=cfg.vae_steps, batch_size=cfg.vae_batch_size, **tc), out / "vae", desc="tocsr-x4-mini VAE",
          key="vae", resume=cfg.resume, progress=cfg.progress)
    load_weights(out / "vae" / "vae.safetensors", vae)  # also when a finished run was reused
    unet.requires_grad_(True)

    t_sched = teacher.scheduler
    t_unet = teacher.unet.requires_grad_(False).eval()
    rs = float(teacher.config.residual_scale)

    def teacher_eps(r_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        # mini-sr predicts v on its residual; eps = sqrt(ab) v + sqrt(1 - ab) x_t
        ab = t_sched.alphas_cumprod.to(r_t.device)[t].view(-1, 1, 1, 1)
        v = t_unet(torch.cat([r_t, cond], 1), t).sample
        return ab.sqrt() * v + (1 - ab).sqrt() * r_t

    def loss(step: int, gen: torch.Generator) -> torch.Tensor:
        idx = pick(gen, cfg.batch_size)
        y = student.restore(up[idx])
        total = cfg.hr_weight * regression(y, hr[idx])
        if target is not None:
            total = total + cfg.teacher_weight * regression(y, target[idx])
        if cfg.dm_weight > 0:
            r = (y - bic[idx]) * rs
            total = total + cfg.dm_weight * score_distillation(r, lambda r_t, t: teacher_eps(r_t, t, bic[idx]), t_sched,
                                                               gen, 20, 980)
        return total

    train({"unet": unet, "vae": vae}, loss, TrainConfig(steps=cfg.steps, batch_size=cfg.batch_size, **tc), out / "onestep",
          desc="tocsr-x4-mini one-step", key="onestep", resume=cfg.resume, progress=cfg.progress)
    load_weights(out / "onestep" / "unet.safetensors", unet)
    load_weights(out / "onestep" / "vae.safetensors", vae)
    student.unet.eval()
    student.vae.eval()
    dest = out / "pipeline"
    student.save_pretrained(str(dest), safe_serialization=True)
    return dest
