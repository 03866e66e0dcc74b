"""Training recipes of the photo teachers, from scratch on CPU with a fixed seed.

    zoo train mini-edit --out plugins/zoo_proving/weights/mini-edit
    zoo train mini-sr --out plugins/zoo_proving/weights/mini-sr

mini-edit: (1) the VAE learns to reconstruct edit crops (MSE + a small KL), its latent scale is set
to unit std; (2) the UNet and the text encoder learn v-prediction on the target latents, given the
input crop's latent (concatenated) and the instruction (cross-attention), with 5% instruction and
5% image dropout so classifier-free guidance works as in InstructPix2Pix (uniform timesteps, or only
those of a few-step sampler: ``timesteps``); (3) the decoder alone sharpens on the frozen encoder's latents;
(4) UNet, text encoder and decoder fine-tune end to end on the 1-step residual output in pixels (``pixel_steps``).
mini-sr: the UNet learns v-prediction of the residual (HR - bicubic upsample) x ``residual_scale``,
given the bicubic upsample (concatenated), on 64x64 HR patches with random flips.

Same seed, same machine, same thread count: same weights (tests check a few steps).
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, ValidationError

from zoo import ModelSpec, ZooError


class PhotoTrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    out_dir: str
    seed: int = 0
    steps: int  # UNet steps
    batch: int = 32
    lr: float = 2e-3
    samples: int  # training examples drawn (fixed seed) from the train photos
    vae_steps: int = 0  # mini-edit only
    vae_batch: int = 16
    decoder_steps: int = 0  # mini-edit: decoder refinement on the frozen encoder's latents (after the UNet)
    # mini-edit: last, UNet + decoder fine-tuned end to end on the pipeline's own 1-step residual output in pixels
    # (needs timesteps 'sampler' with sample_steps 1)
    pixel_steps: int = 0
    pixel_lr: float = 5e-4
    vae_lr: float = 2e-3
    kl_weight: float = 1e-6
    cond_dropout: float = 0.05  # mini-edit: instruction / image dropout each
    augment: int = 0  # mini-edit: flipped / channel-swapped copies of each training pair (0: none)
    # Training timesteps: 'uniform' over all, or 'sampler': only those DDIM visits with sample_steps
    # steps (the capacity of a miniature goes where the sampler needs it).
    timesteps: str = "uniform"
    sample_steps: int = 4
    device: str = "cpu"
    threads: Optional[int] = None  # torch threads (None: leave as set, e.g. by OMP_NUM_THREADS)
    progress: bool = True


DEFAULTS: dict[str, dict[str, Any]] = {
    # The recipe of the shipped mini-edit weights (weights/mini-edit/training.json): the UNet trains only on the
    # timestep of a 1-step sampler (t=999, near-zero SNR), so it learns the conditional mean of each edit, which
    # PSNR rewards; then UNet + decoder are fine-tuned on the residual output in pixels (refine_output).
    # Held-out edits (`zoo eval mini-edit --suite edits`): 22.4 dB vs identity 20.7. Before stage 4: 21.2 with the
    # residual output, 19.9 with InstructPix2Pix's plain decode; the earlier 10-step recipe (uniform timesteps,
    # no stage 4): 18.5. augment: 3 (flipped / channel-swapped copies) did not help (19.7 held out, plain decode).
    "mini-edit": {"steps": 1600, "vae_steps": 600, "decoder_steps": 600, "samples": 3584, "batch": 32,
                  "timesteps": "sampler", "sample_steps": 1, "pixel_steps": 800, "pixel_lr": 1e-3},
    "mini-sr": {"steps": 1000, "samples": 4096, "batch": 16, "timesteps": "sampler", "sample_steps": 4},
    "mini-edit-tiny": {"steps": 2, "vae_steps": 2, "decoder_steps": 2, "samples": 14, "batch": 4, "vae_batch": 4,
                       "timesteps": "sampler", "sample_steps": 1, "pixel_steps": 2},
    "mini-sr-tiny": {"steps": 2, "samples": 8, "batch": 4},
}


def parse_config(spec: ModelSpec, config: dict[str, Any]) -> PhotoTrainConfig:
    cfg = {k: v for k, v in config.items() if v is not None}
    for key in ("teacher", "data", "stage", "teacher_pretrained", "resume"):
        if key in cfg:
            raise ZooError(f"{spec.id} trains from scratch on the built-in photos: option {key!r} does not apply")
    cfg = {**DEFAULTS[spec.id], "out_dir": f"runs/{spec.id}", **cfg}
    try:
        parsed = PhotoTrainConfig(**cfg)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ZooError(f"{spec.id} training option {'.'.join(map(str, err['loc']))}: {err['msg']} "
                       f"(options: {', '.join(PhotoTrainConfig.model_fields)})") from None
    if parsed.pixel_steps > 0 and (parsed.timesteps != "sampler" or parsed.sample_steps != 1):
        raise ZooError(f"{spec.id}: pixel_steps trains the 1-step sampler's output; with it set timesteps: sampler "
                       "and sample_steps: 1 (or pixel_steps: 0)")
    return parsed


def _schedule(opt: Any, total: int) -> Any:
    """Linear warm-up over 5% of the steps, then cosine decay to 5% of the peak rate."""
    import torch

    warm = max(1, total // 20)

    def f(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        p = (step - warm) / max(1, total - warm)
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * p))

    return torch.optim.lr_scheduler.LambdaLR(opt, f)


def _loop(name: str, params: list, steps: int, lr: float, loss_fn: Any, progress: bool) -> list[float]:
    import torch
    from tqdm.auto import tqdm

    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    sched = _schedule(opt, steps)
    losses = []
    bar = tqdm(range(steps), desc=name, unit="step", disable=not progress)
    for step in bar:
        loss = loss_fn(step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        if step % 25 == 0 or step == steps - 1:
            bar.set_postfix(loss=f"{sum(losses[-25:]) / len(losses[-25:]):.4f}")
    return losses


def train_edit(pipe: Any, cfg: PhotoTrainConfig) -> dict[str, Any]:
    import torch
    import torch.nn.functional as F

    from zoo.proving.edits import INSTRUCTIONS, OPS, edits

    size = pipe.vae.config.sample_size
    ds = edits("train", size, cfg.samples, seed=cfg.seed)
    x_in, x_tg = ds.tensors()
    op_idx = torch.tensor([OPS.index(o) for o in ds.ops])
    if cfg.augment:
        x_in, x_tg, op_idx = augment_pairs(x_in, x_tg, op_idx, cfg.augment, cfg.seed)
    g = torch.Generator().manual_seed(cfg.seed)
    vae, unet, te, sched = pipe.vae, pipe.unet, pipe.text_encoder, pipe.scheduler

    # Stage 1: the VAE on every crop it will see (inputs and targets).
    crops = torch.cat([x_in, x_tg])

    def vae_loss(_step: int) -> Any:
        x = crops[torch.randint(len(crops), (cfg.vae_batch,), generator=g)]
        post = vae.encode(x).latent_dist
        rec = vae.decode(post.sample(generator=g)).sample
        return F.mse_loss(rec, x) + cfg.kl_weight * post.kl().mean()

    vae.train()
    vae_losses = _loop("vae", list(vae.parameters()), cfg.vae_steps, cfg.vae_lr, vae_loss, cfg.progress)
    vae.eval().requires_grad_(False)
    with torch.no_grad():
        z_in = torch.cat([vae.encode(b).latent_dist.mode() for b in x_in.split(256)])
        z_tg_mode = torch.cat([vae.encode(b).latent_dist.mode() for b in x_tg.split(256)])
    sf = float(1.0 / z_tg_mode.std())
    vae.register_to_config(scaling_factor=sf)
    z_tg = z_tg_mode * sf  # the pipeline scales denoised latents by 1/sf; the image latent stays unscaled (as in IP2P)

    # Stage 2: UNet + text encoder; index len(OPS) is the empty instruction (dropped text).
    tok = pipe.tokenizer
    texts = [INSTRUCTIONS[o] for o in OPS] + [""]
    ids = tok(texts, padding="max_length", max_length=tok.model_max_length, truncation=True, return_tensors="pt").input_ids
    draw_t = _timestep_sampler(sched, cfg, g)

    def unet_loss(_step: int) -> Any:
        idx = torch.randint(len(z_tg), (cfg.batch,), generator=g)
        z0, c_img, k = z_tg[idx], z_in[idx], op_idx[idx]
        k = torch.where(torch.rand(cfg.batch, generator=g) < cfg.cond_dropout, len(OPS), k)
        keep = (torch.rand(cfg.batch, generator=g) >= cfg.cond_dropout).float()[:, None, None, None]
        t = draw_t(cfg.batch)
        noise = torch.randn(z0.shape, generator=g)
        zt = sched.add_noise(z0, noise, t)
        emb = te(ids[k])[0]
        pred = unet(torch.cat([zt, c_img * keep], 1), t, encoder_hidden_states=emb).sample
        return F.mse_loss(pred, sched.get_velocity(z0, noise, t))

    unet.train()
    te.train()
    params = list(unet.parameters()) + list(te.parameters())
    unet_losses = _loop("unet", params, cfg.steps, cfg.lr, unet_loss, cfg.progress)
    unet.eval()
    te.eval()
    dec_losses = refine_decoder(vae, crops, torch.cat([z_in, z_tg_mode]), cfg)
    pix_losses = refine_output(pipe, x_in, x_tg, z_in, op_idx, ids, cfg)
    return {"vae_final_loss": _tail(vae_losses), "unet_final_loss": _tail(unet_losses), "latent_scaling_factor": sf,
            "decoder_final_loss": _tail(dec_losses), "pixel_final_loss": _tail(pix_losses), "train_examples": len(ds), "train_pairs": len(x_in), "train_photos": sorted(set(ds.photos))}


def augment_pairs(x_in: Any, x_tg: Any, op_idx: Any, copies: int, seed: int) -> tuple[Any, Any, Any]:
    """The pairs plus ``copies`` transformed copies: random horizontal / vertical flip and RGB channel order,
    applied to input and target alike. Every edit commutes with them (grayscale's luma weights do not commute
    with a channel swap, so its copies keep the order; x4 SR's bicubic resampling is off by 1.6 levels on
    average on a flipped crop): the pairs stay exact while the colours and layouts seen widen beyond the
    seven training photos."""
    import torch

    from zoo.proving.edits import OPS

    g = torch.Generator().manual_seed(seed + 3)
    gray = OPS.index("grayscale")
    ins, tgs = [x_in], [x_tg]
    for _ in range(copies):
        n = len(x_in)
        perm = torch.stack([torch.randperm(3, generator=g) for _ in range(n)])
        perm[op_idx == gray] = torch.arange(3)
        a = torch.gather(x_in, 1, perm[:, :, None, None].expand_as(x_in))
        b = torch.gather(x_tg, 1, perm[:, :, None, None].expand_as(x_tg))
        for dim in (-1, -2):
            flip = torch.rand(n, generator=g) < 0.5
            a[flip], b[flip] = a[flip].flip(dim), b[flip].flip(dim)
        ins.append(a)
        tgs.append(b)
    return torch.cat(ins), torch.cat(tgs), op_idx.repeat(copies + 1)


def refine_decoder(vae: Any, crops: Any, latents: Any, cfg: PhotoTrainConfig) -> list[float]:
    """Stage 3 of mini-edit: train the VAE decoder alone on (encoder latent -> crop), the encoder frozen,
    so the latent space the UNet learned stays as it is while reconstructions sharpen (like SD's ft-MSE
    decoder). Its own generator: the stage can be rerun on saved weights with the same result."""
    import torch
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(cfg.seed + 2)
    dec = [vae.post_quant_conv, vae.decoder]
    for m in dec:
        m.requires_grad_(True).train()

    def loss_fn(_step: int) -> Any:
        idx = torch.randint(len(crops), (cfg.batch,), generator=g)
        return F.mse_loss(vae.decode(latents[idx]).sample, crops[idx])

    losses = _loop("decoder", [p for m in dec for p in m.parameters()], cfg.decoder_steps, cfg.vae_lr, loss_fn, cfg.progress)
    vae.eval().requires_grad_(False)
    return losses


def refine_output(pipe: Any, x_in: Any, x_tg: Any, z_in: Any, op_idx: Any, ids: Any, cfg: PhotoTrainConfig) -> list[float]:
    """Stage 4 of mini-edit (``pixel_steps``): the UNet, text encoder and decoder trained end to end on what the
    pipeline returns with one DDIM step: x0 from pure noise at t=999, decoded, as the residual output
    ``x + D(x0 / sf) - D(z_x)`` (MiniEditPipeline), MSE to the target crop in pixels: the loss PSNR judges,
    and the VAE's own error on the input cancels in it. No condition dropout here (guidance is not used
    by the metric). Its own generator: rerunnable on saved weights."""
    import torch
    import torch.nn.functional as F

    if cfg.pixel_steps <= 0:
        return []
    g = torch.Generator().manual_seed(cfg.seed + 4)
    vae, unet, te, sched = pipe.vae, pipe.unet, pipe.text_encoder, pipe.scheduler
    t = torch.full((cfg.batch,), sched.config.num_train_timesteps - 1)
    ac = sched.alphas_cumprod[-1]
    sf = vae.config.scaling_factor
    dec = [vae.post_quant_conv, vae.decoder]
    modules = [unet, te, *dec]
    for m in modules:
        m.requires_grad_(True).train()

    def loss_fn(_step: int) -> Any:
        idx = torch.randint(len(x_in), (cfg.batch,), generator=g)
        z_t = torch.randn((cfg.batch, *z_in.shape[1:]), generator=g)
        v = unet(torch.cat([z_t, z_in[idx]], 1), t, encoder_hidden_states=te(ids[op_idx[idx]])[0]).sample
        x0 = ac.sqrt() * z_t - (1 - ac).sqrt() * v
        out = x_in[idx] + vae.decode(x0 / sf).sample - vae.decode(z_in[idx]).sample
        return F.mse_loss(out, x_tg[idx])

    params = [p for m in modules for p in m.parameters()]
    losses = _loop("pixel", params, cfg.pixel_steps, cfg.pixel_lr, loss_fn, cfg.progress)
    for m in modules:
        m.eval().requires_grad_(False)
    return losses


def _timestep_sampler(sched: Any, cfg: PhotoTrainConfig, g: Any) -> Any:
    import copy

    import torch

    if cfg.timesteps == "uniform":
        T = sched.config.num_train_timesteps
        return lambda n: torch.randint(0, T, (n,), generator=g)
    if cfg.timesteps != "sampler":
        raise ZooError(f"timesteps must be 'uniform' or 'sampler', got {cfg.timesteps!r}")
    s = copy.deepcopy(sched)
    s.set_timesteps(cfg.sample_steps)
    ts = s.timesteps.clone()
    return lambda n: ts[torch.randint(0, len(ts), (n,), generator=g)]


def train_sr(pipe: Any, cfg: PhotoTrainConfig) -> dict[str, Any]:
    import torch
    import torch.nn.functional as F

    from zoo.proving.photos import sr_pairs, to_tensor, upscale_batch

    scale = pipe.config.scale
    size = pipe.unet.config.sample_size
    lr, hr = sr_pairs("train", size, cfg.samples, scale, seed=cfg.seed)
    bic = to_tensor(upscale_batch(lr, scale))
    res = (to_tensor(hr) - bic) * pipe.config.residual_scale
    g = torch.Generator().manual_seed(cfg.seed)
    unet, sched = pipe.unet, pipe.scheduler
    draw_t = _timestep_sampler(sched, cfg, g)
    # Zero-init output conv: training starts from "residual 0" (= bicubic) and improves on it, instead of
    # first unlearning a random output (stock init) that scores far below bicubic.
    torch.nn.init.zeros_(unet.conv_out.weight)
    torch.nn.init.zeros_(unet.conv_out.bias)

    def loss_fn(_step: int) -> Any:
        idx = torch.randint(len(res), (cfg.batch,), generator=g)
        r, c = res[idx], bic[idx]
        if bool(torch.rand(1, generator=g) < 0.5):  # flips: bicubic commutes with them
            r, c = r.flip(-1), c.flip(-1)
        if bool(torch.rand(1, generator=g) < 0.5):
            r, c = r.flip(-2), c.flip(-2)
        t = draw_t(cfg.batch)
        noise = torch.randn(r.shape, generator=g)
        pred = unet(torch.cat([sched.add_noise(r, noise, t), c], 1), t).sample
        return F.mse_loss(pred, sched.get_velocity(r, noise, t))

    unet.train()
    losses = _loop("unet", list(unet.parameters()), cfg.steps, cfg.lr, loss_fn, cfg.progress)
    unet.eval()
    return {"unet_final_loss": _tail(losses), "residual_std": float(res.std()), "train_examples": len(res)}


def _tail(losses: list[float]) -> Optional[float]:
    return sum(losses[-50:]) / len(losses[-50:]) if losses else None


def save_atomic(pipe: Any, out: Path, info: dict[str, Any]) -> Path:
    """save_pretrained into a hidden sibling, then swap it in (zoo.atomic): a kill leaves the old folder or the
    new one, and the files get normal permissions (safetensors writes 0600)."""
    from zoo.atomic import write_dir

    with write_dir(out, overwrite=True) as tmp:
        pipe.save_pretrained(str(tmp), safe_serialization=True)
        (tmp / "training.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    return Path(out)


def train_photo_teacher(spec: ModelSpec, config: dict[str, Any], save: bool = True) -> Any:
    """Train ``spec`` (mini-edit / mini-sr, or their -tiny) from scratch; return the output folder
    (or the trained pipeline when ``save`` is False)."""
    import torch

    from .photo_models import build

    if spec.id not in DEFAULTS:
        raise ZooError(f"no photo training recipe for {spec.id}; have {', '.join(DEFAULTS)}")
    cfg = parse_config(spec, config)
    if cfg.device != "cpu":
        raise ZooError(f"{spec.id} trains on CPU (deterministic, minutes); got device {cfg.device!r}")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    t0, c0 = time.perf_counter(), time.process_time()
    torch.manual_seed(cfg.seed)
    pipe = build(spec)
    info = train_edit(pipe, cfg) if spec.task == "image-editing" else train_sr(pipe, cfg)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    info.update(model_id=spec.id, config=cfg.model_dump(exclude={"out_dir", "progress"}), wall_s=round(wall, 1),
                cpu_s=round(cpu, 1),
                torch=torch.__version__, threads=torch.get_num_threads())
    if not save:
        pipe._zoo_training = info
        return pipe
    return save_atomic(pipe, Path(cfg.out_dir), info)
