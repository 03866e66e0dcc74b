"""`zoo train mini-sd|mini-dit|mini-pixart`: train a digits teacher from scratch on CPU.

1. the digits VAE (32x32 RGB <-> 4x8x8), plain reconstruction + a small KL term; its latent
   scaling factor is set to 1 / std of the training latents, as SD's was;
2. the denoiser (and the text encoder, for the text-conditioned ones) with the DDPM epsilon
   loss, the condition dropped to the empty prompt / DiT's null class 10% of the time so the
   pipelines' classifier-free guidance works;
3. the whole pipeline written in diffusers layout to ``out_dir`` (temp sibling + rename).

Both runs go through ``zoo.distill.train``: every step draws its batch and noise from a
generator seeded by (seed, step), so the same seed gives the same weights, and a killed run
resumes exactly from its checkpoint (``--resume``). Options (config file or ``zoo train``
flags) are ``DigitsTrainConfig``'s fields.

    zoo train mini-sd --out plugins/zoo_proving/weights/mini-sd    # the shipped weights
    zoo train mini-dit --out runs/mini-dit                          # reuses the VAE run above
"""
from __future__ import annotations

import json
import time
import zlib
from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from zoo import ZooError

from .digit_models import DIT_NULL_CLASS


class DigitsTrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    out_dir: Path = Field(description="where the trained pipeline is written (diffusers layout)")
    work_dir: Optional[Path] = Field(None, description="checkpoints of the runs (default: runs/ID-work)")
    seed: int = 0
    steps: int = Field(1500, ge=1, description="denoiser optimiser steps")
    lr: float = Field(2e-3, gt=0, description="denoiser peak lr (cosine decay to 10%, 50 warm-up steps)")
    batch_size: int = Field(64, ge=1)
    uncond_prob: float = Field(0.1, ge=0, lt=1, description="share of steps trained without the condition (guidance)")
    vae: Optional[Path] = Field(None, description="a trained digits VAE folder to reuse instead of training one")
    vae_steps: int = Field(400, ge=1)
    vae_lr: float = Field(2e-3, gt=0)
    vae_kl_weight: float = Field(1e-5, ge=0)
    resume: bool = False
    device: Optional[str] = Field(None, description="ignored: the miniatures train on CPU")
    progress: bool = True


def parse_config(config: dict[str, Any]) -> DigitsTrainConfig:
    cfg = dict(config)
    for unused in ("teacher", "data", "stage", "teacher_pretrained"):
        if cfg.get(unused) is not None:
            raise ZooError(f"zoo train: option {unused!r} does not apply to the digits teachers "
                           "(they train from scratch on the shipped digits)")
        cfg.pop(unused, None)
    try:
        return DigitsTrainConfig(**cfg)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ZooError(f"digits training option {'.'.join(map(str, err['loc']))}: {err['msg']}") from None


def _loop_config(cfg: DigitsTrainConfig, steps: int, lr: float):
    from zoo.distill import TrainConfig

    return TrainConfig(steps=steps, lr=lr, lr_schedule="cosine", warmup_steps=min(50, steps // 10),
                       batch_size=cfg.batch_size, seed=cfg.seed, checkpoint_every=250, log_every=25)


def train_vae(cfg: DigitsTrainConfig, vae, run_dir: Path):
    """Train ``vae`` on the training digits (or reuse a finished run in ``run_dir``); set its
    scaling factor from the latent std."""
    import torch

    from zoo.distill import train
    from zoo.proving import digits_split

    x = digits_split("train").images
    n = x.shape[0]

    def loss_fn(step: int, gen) -> Any:
        batch = x[torch.randint(n, (cfg.batch_size,), generator=gen)]
        post = vae.encode(batch).latent_dist
        z = post.mean + post.std * torch.randn(post.mean.shape, generator=gen)
        rec = vae.decode(z).sample
        return torch.nn.functional.mse_loss(rec, batch) + cfg.vae_kl_weight * post.kl().mean()

    from zoo.distill import load_weights
    from zoo.distill.loop import is_done

    if is_done(run_dir):  # the same seed and settings trained it already (for another teacher): reuse
        load_weights(run_dir / "vae.safetensors", vae)
    else:
        train({"vae": vae}, loss_fn, _loop_config(cfg, cfg.vae_steps, cfg.vae_lr), run_dir, desc="digits VAE",
              resume=True, progress=cfg.progress)
    with torch.no_grad():
        std = vae.encode(x).latent_dist.mean.std().item()
    vae.register_to_config(scaling_factor=round(1.0 / std, 5))
    return vae


def _latents(vae):
    import torch

    from zoo.proving import digits_split

    train = digits_split("train")
    with torch.no_grad():
        post = vae.encode(train.images).latent_dist
    return post.mean, post.std, train.labels


def _text_inputs(tokenizer, kind: str):
    """Token ids (and masks) of the ten prompts and of the empty prompt, as the pipelines make them."""
    from zoo.proving import PROMPTS

    length = tokenizer.model_max_length if kind == "sd" else 8
    enc = tokenizer(list(PROMPTS) + [""], padding="max_length", max_length=length, truncation=True,
                    return_tensors="pt")
    return enc.input_ids, enc.attention_mask


def denoiser_modules(pipe, kind: str) -> dict[str, Any]:
    if kind == "sd":
        return {"unet": pipe.unet, "text_encoder": pipe.text_encoder}
    if kind == "dit":
        return {"transformer": pipe.transformer}
    return {"transformer": pipe.transformer, "text_encoder": pipe.text_encoder}


def make_loss(pipe, kind: str, cfg: DigitsTrainConfig):
    import torch

    mu, sd, labels = _latents(pipe.vae)
    sf = pipe.vae.config.scaling_factor
    n = mu.shape[0]
    sched = pipe.scheduler
    T = sched.config.num_train_timesteps
    ids = mask = None
    if kind != "dit":
        ids, mask = _text_inputs(pipe.tokenizer, kind)

    def loss_fn(step: int, gen) -> Any:
        idx = torch.randint(n, (cfg.batch_size,), generator=gen)
        z0 = (mu[idx] + sd[idx] * torch.randn(mu[idx].shape, generator=gen)) * sf
        noise = torch.randn(z0.shape, generator=gen)
        t = torch.randint(0, T, (cfg.batch_size,), generator=gen)
        xt = sched.add_noise(z0, noise, t)
        y = labels[idx].clone()
        drop = torch.rand(cfg.batch_size, generator=gen) < cfg.uncond_prob
        if kind == "dit":
            # eval(): the stock label embedder drops labels at random in train mode, block by
            # block; the null class is set here instead, the same for every block (DiT has no dropout).
            pipe.transformer.eval()
            y[drop] = DIT_NULL_CLASS
            return torch.nn.functional.mse_loss(pipe.transformer(xt, timestep=t, class_labels=y).sample, noise)
        y[drop] = len(ids) - 1  # the empty prompt
        if kind == "sd":
            h = pipe.text_encoder(ids[y])[0]
            pred = pipe.unet(xt, t, encoder_hidden_states=h).sample
        else:
            h = pipe.text_encoder(ids[y], attention_mask=mask[y])[0]
            pred = pipe.transformer(xt, encoder_hidden_states=h, encoder_attention_mask=mask[y], timestep=t,
                                    added_cond_kwargs={"resolution": None, "aspect_ratio": None}).sample
        return torch.nn.functional.mse_loss(pred, noise)

    return loss_fn


def save_pipeline(pipe, out_dir: Path) -> Path:
    """save_pretrained into a hidden sibling, then swap it in (zoo.atomic): a kill leaves the old folder or the
    new one, and the files get normal permissions (safetensors writes 0600)."""
    from zoo.atomic import write_dir

    with write_dir(out_dir, overwrite=True) as tmp:
        pipe.save_pretrained(str(tmp), safe_serialization=True)
    return Path(out_dir)


def train_digits_teacher(spec, config: dict[str, Any], build) -> Path:
    """Train the digits teacher ``spec`` (kind in ``spec.config['kind']``); ``build(spec)`` makes it at random init."""
    import torch

    from zoo.distill import train

    cfg = parse_config(config)
    kind = spec.config["kind"]
    work = Path(cfg.work_dir or Path("runs") / f"{spec.id}-work")
    torch.manual_seed(cfg.seed)  # the random init
    pipe = build(spec)
    t0, c0 = time.perf_counter(), time.process_time()
    if cfg.vae is not None:
        from diffusers import AutoencoderKL

        if not Path(cfg.vae).is_dir():
            raise ZooError(f"vae folder {str(cfg.vae)!r} does not exist")
        pipe.register_modules(vae=AutoencoderKL.from_pretrained(str(cfg.vae), use_safetensors=True))
    else:
        # One VAE for all digits teachers: its run folder is keyed by everything that defines it.
        arch = zlib.crc32(json.dumps(spec.config["components"]["vae"], sort_keys=True).encode())
        key = f"digits-vae-{arch:08x}-seed{cfg.seed}-steps{cfg.vae_steps}-lr{cfg.vae_lr:g}-kl{cfg.vae_kl_weight:g}-b{cfg.batch_size}"
        train_vae(cfg, pipe.vae, work.parent / key)
    t_vae = time.perf_counter() - t0
    pipe.vae.requires_grad_(False).eval()
    result = train(denoiser_modules(pipe, kind), make_loss(pipe, kind, cfg),
                   _loop_config(cfg, cfg.steps, cfg.lr), work / "denoiser", desc=f"{spec.id} denoiser",
                   resume=cfg.resume, progress=cfg.progress)
    t_all, cpu_all = time.perf_counter() - t0, time.process_time() - c0
    out = save_pipeline(pipe, cfg.out_dir)
    timing = {"model_id": spec.id, "vae_s": round(t_vae, 1), "total_s": round(t_all, 1), "cpu_s": round(cpu_all, 1), "steps": cfg.steps,
              "vae_steps": 0 if cfg.vae else cfg.vae_steps, "final_loss": result.final_loss,
              "threads": torch.get_num_threads(), "seed": cfg.seed}
    (work / "timing.json").write_text(json.dumps(timing, indent=1))
    print(f"{spec.id}: trained in {t_all:.0f} s wall, {cpu_all:.0f} s CPU (VAE {t_vae:.0f} s wall), "
          f"final loss {result.final_loss:.4f}")
    return out
