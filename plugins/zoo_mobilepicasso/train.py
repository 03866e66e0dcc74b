"""`zoo train mobilepicasso[-tiny|-mini]`: the latent projection, and the editor with the hallucination-aware loss.

``zoo train mobilepicasso-mini`` (stage projection, defaults in ``DEFAULTS``) trains the miniature's projection
between the shipped mini-edit and tocsr-x4-mini; copying ``runs/mobilepicasso-mini/{projection,training.json}``
into ``plugins/zoo_mobilepicasso/weights/mobilepicasso-mini/`` ships it.

Stages (train config ``stage``):

- ``projection`` (default): the LatentProjection regresses (MSE) onto the upscaler encoder's latent of
  the bicubic x``scale`` upsample of the decoded editor latent [choice], on photo patches of the
  proving ground at the edit size (train split). Only the projection trains.
- ``editor``: InstructPix2Pix fine-tuning on the proving ground's edit pairs, ``L_LDM`` plus, with
  ``hallucination_weight > 0``, ``lambda * mean(M(D(x0_hat))^2)`` where x0_hat is the UNet's clean-latent
  estimate, D the editor's VAE decoder and M the frozen artefact-localisation network ``artefact_net``.
  With an ``artefact_net`` the pairs whose target has the highest artefact ratio are dropped first
  (``filter_fraction``, the paper's 15%). Asking for the loss without a network is refused.

Writes ``out_dir/projection`` or ``out_dir/unet`` (diffusers layout) and ``out_dir/training.json``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from zoo import ZooError


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stage: Literal["projection", "editor"] = "projection"
    out_dir: Path = Path("runs/mobilepicasso")
    pretrained: bool = Field(False, description="editor and upscaler from their registered models' weights, "
                             "projection fresh (else all random: plumbing tests)")
    editor_weights: Optional[str] = Field(None, description="a folder of the editor's weights (default: its own)")
    upscaler_weights: Optional[str] = Field(None, description="a folder of the upscaler's weights (default: its own)")
    steps: int = Field(300, ge=1)
    batch_size: int = Field(8, ge=1)
    lr: float = Field(1e-3, gt=0)
    count: int = Field(128, ge=2, description="training patches / edit pairs")
    patch: Optional[int] = Field(None, ge=8, description="edit-resolution patch side (default: the edit size)")
    latent_crop: Optional[int] = Field(None, ge=4, description="projection stage: train on random crops of this "
                                       "many upscaler-latent px (default: whole patches)")
    hallucination_weight: float = Field(0.0, ge=0, description="lambda of the hallucination-aware loss")
    artefact_net: Optional[str] = Field(None, description="'module:attr' of the artefact-localisation network M")
    filter_fraction: float = Field(0.15, ge=0, lt=1, description="top fraction of pairs by artefact ratio dropped")
    artefact_threshold: float = Field(0.5, gt=0, lt=1, description="map value above which a pixel is an artefact")
    seed: int = 0
    progress: bool = True


# The miniature trains its projection on the shipped mini-edit and tocsr-x4-mini (`zoo train mobilepicasso-mini`).
HELD_OUT = 32  # held-out-photo patches the projection's MSE is reported on
DEFAULTS = {"mobilepicasso-mini": {"pretrained": True, "steps": 800, "count": 256, "batch_size": 16, "lr": 2e-3,
                                   "latent_crop": 24, "out_dir": "runs/mobilepicasso-mini"}}


def check(cfg: TrainConfig) -> None:
    if cfg.hallucination_weight > 0 and not cfg.artefact_net:
        raise ZooError("the hallucination-aware loss needs an artefact-localisation network: set artefact_net="
                       "'module:attr' (e.g. 'zoo_mobilepicasso.artefacts:HighFrequencyArtefacts') or "
                       "hallucination_weight=0")
    if cfg.stage == "projection" and (cfg.hallucination_weight > 0 or cfg.artefact_net):
        raise ZooError("hallucination_weight / artefact_net apply to stage='editor', not 'projection'")


def _loop(params: list, loss_fn: Any, cfg: TrainConfig, desc: str) -> list[float]:
    import torch
    from tqdm.auto import tqdm

    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.steps, eta_min=cfg.lr * 0.1)
    g = torch.Generator().manual_seed(cfg.seed)
    losses = []
    for _ in tqdm(range(cfg.steps), desc=desc, disable=not cfg.progress):
        loss = loss_fn(g)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
    return losses


def projection_pairs(pipe: Any, images: Any) -> tuple[Any, Any]:
    """(input, target) of the projection for images NCHW in [-1, 1] at the edit size: the editor's latent
    resized onto the upscaler's grid, and the upscaler's latent of bicubic-up(decode(editor latent))."""
    import torch

    sr, s = pipe.upscaler(), pipe.config.scale
    vae = pipe.vae
    xs, ys = [], []
    with torch.no_grad():
        for i in range(0, len(images), 16):
            x = images[i:i + 16]
            z = vae.encode(x).latent_dist.mode() * vae.config.scaling_factor
            dec = vae.decode(z / vae.config.scaling_factor).sample.clamp(-1, 1)
            up = torch.nn.functional.interpolate(dec, scale_factor=s, mode="bicubic", align_corners=False).clamp(-1, 1)
            ys.append(sr.encode(up))
            xs.append(pipe.projected(z, tuple(up.shape[-2:])))
    return torch.cat(xs), torch.cat(ys)


def heldout_pairs(pipe: Any, side: int, seed: int) -> tuple[Any, Any]:
    """The projection's (input, target) on ``HELD_OUT`` held-out-photo patches of ``side`` px (seeded)."""
    from zoo.proving import photos

    return projection_pairs(pipe, photos.to_tensor(photos.patches("test", size=side, count=HELD_OUT, seed=seed)))


def train_projection(pipe: Any, cfg: TrainConfig) -> tuple[Any, list[float], dict]:
    """The projection regressed onto the round trip's latent on train-photo patches; ``info`` holds the MSE
    on held-out-photo patches before and after (the linear skip alone at the start: conv_out is zero)."""
    import torch
    from zoo.proving import photos

    side = cfg.patch or int(pipe.config.edit_size)
    x, y = projection_pairs(pipe, photos.to_tensor(photos.patches("train", size=side, count=cfg.count, seed=cfg.seed)))
    xt, yt = heldout_pairs(pipe, side, cfg.seed)
    proj = pipe.projection

    def heldout() -> float:
        with torch.no_grad():
            return float(torch.nn.functional.mse_loss(proj.eval()(xt), yt))

    info = {"heldout_mse_start": heldout()}
    proj.train().requires_grad_(True)

    def loss_fn(g):
        idx = torch.randint(0, len(x), (min(cfg.batch_size, len(x)),), generator=g)
        xb, yb = x[idx], y[idx]
        c = cfg.latent_crop
        if c and c < min(xb.shape[-2:]):  # the projection is local: a crop costs less and teaches the same map
            i, j = (int(torch.randint(0, n - c + 1, (1,), generator=g)) for n in xb.shape[-2:])
            xb, yb = xb[..., i:i + c, j:j + c], yb[..., i:i + c, j:j + c]
        return torch.nn.functional.mse_loss(proj(xb), yb)

    losses = _loop(list(proj.parameters()), loss_fn, cfg, "projection")
    proj.eval().requires_grad_(False)
    info["heldout_mse_end"] = heldout()
    return proj, losses, info


def train_editor(pipe: Any, cfg: TrainConfig, net: Any = None) -> tuple[Any, list[float], dict]:
    import torch
    from diffusers import DDPMScheduler
    from zoo.proving.edits import edits

    from .artefacts import artefact_ratios, filter_pairs

    side = cfg.patch or int(pipe.config.edit_size)
    ds = edits("train", size=side, count=cfg.count, seed=cfg.seed)
    xin, xtg = ds.tensors()
    info: dict = {"pairs": len(ds)}
    keep = list(range(len(ds)))
    if net is not None and cfg.filter_fraction > 0:
        keep = filter_pairs(artefact_ratios(net, xtg, cfg.artefact_threshold), cfg.filter_fraction).tolist()
        xin, xtg = xin[keep], xtg[keep]
        info["kept_after_filter"] = len(keep)
    vae, unet, te, tok = pipe.vae, pipe.unet, pipe.text_encoder, pipe.tokenizer
    noise_sched = DDPMScheduler.from_config(pipe.scheduler.config)
    with torch.no_grad():
        z_tg = vae.encode(xtg).latent_dist.mode() * vae.config.scaling_factor
        z_in = vae.encode(xin).latent_dist.mode()  # InstructPix2Pix conditions on the unscaled image latent
        ids = tok([ds.instructions[i] for i in keep],
                  padding="max_length", max_length=tok.model_max_length, truncation=True, return_tensors="pt").input_ids
        emb = te(ids)[0]
    unet.train().requires_grad_(True)
    vae.requires_grad_(False)
    ab_all = noise_sched.alphas_cumprod
    pred = noise_sched.config.prediction_type
    parts = {"ldm": [], "hallucination": []}

    def loss_fn(g):
        idx = torch.randint(0, len(z_tg), (min(cfg.batch_size, len(z_tg)),), generator=g)
        z0, noise = z_tg[idx], torch.randn(z_tg[idx].shape, generator=g)
        t = torch.randint(0, noise_sched.config.num_train_timesteps, (len(idx),), generator=g)
        zt = noise_sched.add_noise(z0, noise, t)
        out = unet(torch.cat([zt, z_in[idx]], 1), t, encoder_hidden_states=emb[idx]).sample
        target = noise_sched.get_velocity(z0, noise, t) if pred == "v_prediction" else noise
        ldm = torch.nn.functional.mse_loss(out, target)
        parts["ldm"].append(float(ldm))
        if cfg.hallucination_weight <= 0:
            return ldm
        ab = ab_all[t].view(-1, 1, 1, 1)
        x0 = ab.sqrt() * zt - (1 - ab).sqrt() * out if pred == "v_prediction" else (zt - (1 - ab).sqrt() * out) / ab.sqrt()
        image = vae.decode(x0 / vae.config.scaling_factor).sample
        hall = net(image).pow(2).mean()
        parts["hallucination"].append(float(hall))
        return ldm + cfg.hallucination_weight * hall

    losses = _loop([p for p in unet.parameters()], loss_fn, cfg, "editor")
    unet.eval().requires_grad_(False)
    info.update({k: v for k, v in parts.items() if v})
    return unet, losses, info


def start_pipeline(spec: Any, cfg: TrainConfig) -> Any:
    """The pipeline training starts from: with ``pretrained``, the editor and upscaler loaded from their
    registered models' weights (or the given folders) and a fresh projection; else all random."""
    import zoo

    from .build import compose

    if not cfg.pretrained:
        pipe = zoo.load(spec.id, pretrained=False)
    else:
        parts = [zoo.load(spec.config[k], weights=w) if w else zoo.load(spec.config[k])
                 for k, w in (("editor", cfg.editor_weights), ("upscaler", cfg.upscaler_weights))]
        pipe = compose(spec, *parts)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def train_mobilepicasso(spec: Any, config: Optional[dict]) -> Path:
    import torch

    from zoo.atomic import write_dir
    from zoo.distill import validate

    config = dict(config or {})
    if "teacher_pretrained" in config:  # `zoo train --random-teacher`: random editor and upscaler (a dry run)
        config["pretrained"] = config.pop("teacher_pretrained")
    cfg = validate(TrainConfig, {**DEFAULTS.get(spec.id, {}), **config}, f"{spec.id} training config")
    check(cfg)
    from .artefacts import load_artefact_net

    net = load_artefact_net(cfg.artefact_net) if cfg.artefact_net else None  # a bad reference fails before any build
    torch.manual_seed(cfg.seed)
    pipe = start_pipeline(spec, cfg)
    if cfg.stage == "projection":
        module, losses, info = train_projection(pipe, cfg)
    else:
        module, losses, info = train_editor(pipe, cfg, net)
    name = "projection" if cfg.stage == "projection" else "unet"
    with write_dir(cfg.out_dir, overwrite=True) as tmp:
        module.save_pretrained(tmp / name, safe_serialization=True)
        record = {"model": spec.id, "stage": cfg.stage, "config": cfg.model_dump(mode="json"), "losses": losses, **info}
        (tmp / "training.json").write_text(json.dumps(record, indent=1))
    return Path(cfg.out_dir)
