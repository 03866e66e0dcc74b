"""EC training: flow matching end to end (prompt VAE + UNet) on the proving ground's edits.

    zoo train ec-mini --out plugins/zoo_ec/weights/ec-mini

Starts from the trained ``mini-edit`` (its UNet's conv_in keeps the noisy-latent channels; VAE and
text encoder stay frozen). Per batch: y ~ N(mu(c), Sigma(c)) reparameterised (the fused Gaussian of
the input crop's VAE posterior and the prompt VAE's), t ~ U(0, 1), x_t = (1 - t) x + t y for the target
latent x; loss = MSE(unet(x_t, t), y - x) + kl_weight * KL(prompt Gaussian || N(0, I)). accelerate runs it.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, ValidationError

from zoo import ModelSpec, ZooError


class ECTrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    out_dir: str
    seed: int = 0
    steps: int = 600
    batch: int = 32
    lr: float = 1e-3
    kl_weight: float = 1e-3
    samples: int = 3584  # edit triplets (fixed seed) from the train photos
    pretrained_base: bool = True  # start from the base model's trained weights (mini-edit)
    threads: Optional[int] = None
    progress: bool = True


DEFAULTS: dict[str, dict[str, Any]] = {
    "ec-mini": {"steps": 1200, "batch": 24},  # ~13 min on the shared 2-core VM under load
    "ec-tiny": {"steps": 3, "samples": 14, "batch": 4, "pretrained_base": False},
}


def parse_config(spec: ModelSpec, config: dict[str, Any]) -> ECTrainConfig:
    if spec.id not in DEFAULTS:
        raise ZooError(f"no EC training recipe for {spec.id} on CPU; have {', '.join(DEFAULTS)}")
    cfg = {**DEFAULTS[spec.id], "out_dir": f"runs/{spec.id}", **{k: v for k, v in config.items() if v is not None}}
    if "teacher_pretrained" in cfg:  # `zoo train --random-teacher`: a dry run from a random base
        cfg["pretrained_base"] = cfg.pop("teacher_pretrained")
    if cfg.pop("device", "cpu") != "cpu":
        raise ZooError(f"{spec.id} trains on CPU in this recipe; drop --device")
    try:
        return ECTrainConfig(**cfg)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ZooError(f"{spec.id} training option {'.'.join(map(str, err['loc']))}: {err['msg']} "
                       f"(options: {', '.join(ECTrainConfig.model_fields)})") from None


def encode_edits(pipe: Any, spec: ModelSpec, samples: int, seed: int) -> dict[str, Any]:
    """Frozen encodings of the edit triplets: target latents, input posteriors, text states, pooled text."""
    import torch

    from zoo.proving.edits import edits

    ds = edits("train", spec.resolution, samples, seed=seed)
    inp, tgt = ds.tensors()
    with torch.no_grad():
        mean_i, var_i = pipe.context_posterior(inp)
        x = pipe.vae.encode(tgt).latent_dist.mean * pipe.vae.config.scaling_factor
        texts = sorted(set(ds.instructions))
        states, pooled = pipe.encode_prompt(texts, "cpu")
    which = torch.tensor([texts.index(t) for t in ds.instructions])
    return {"x": x, "mean_i": mean_i, "var_i": var_i, "states": states[which], "pooled": pooled[which]}


def _loss_module(unet: Any, prompt_vae: Any, kl_weight: float) -> Any:
    import torch

    from .pipeline import TIMESTEP_SCALE
    from .prompt_vae import kl_to_standard

    class Loss(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.unet, self.prompt_vae = unet, prompt_vae

        def forward(self, x, mean_i, var_i, states, pooled, eps, t):
            mean_p, logvar_p = self.prompt_vae(pooled)
            mean, std = self.prompt_vae.fuse(mean_i, var_i, mean_p, logvar_p)
            y = mean + std * eps
            tt = t.view(-1, 1, 1, 1)
            v = self.unet((1 - tt) * x + tt * y, t * TIMESTEP_SCALE, encoder_hidden_states=states).sample
            return torch.nn.functional.mse_loss(v, y - x) + kl_weight * kl_to_standard(mean_p, logvar_p)

    return Loss()


def fit(pipe: Any, data: dict[str, Any], cfg: ECTrainConfig) -> list[float]:
    """Train ``pipe``'s UNet and prompt VAE in place; the per-step losses."""
    import torch
    from accelerate import Accelerator
    from tqdm.auto import tqdm

    pipe.vae.requires_grad_(False)
    pipe.text_encoder.requires_grad_(False)
    model = _loss_module(pipe.unet, pipe.prompt_vae, cfg.kl_weight).train()
    acc = Accelerator(cpu=not torch.cuda.is_available())
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr, weight_decay=0.0)
    # cosine decay to 5% of the peak rate
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * s / cfg.steps)))
    model, opt = acc.prepare(model, opt)
    n = data["x"].shape[0]
    gen = torch.Generator().manual_seed(cfg.seed)
    losses = []
    bar = tqdm(range(cfg.steps), desc="ec train", disable=not (cfg.progress and acc.is_main_process), dynamic_ncols=True)
    for _ in bar:
        idx = torch.randint(0, n, (cfg.batch,), generator=gen)
        b = {k: v[idx].to(acc.device) for k, v in data.items()}
        eps = torch.randn(b["x"].shape, generator=gen).to(acc.device)
        t = torch.rand(cfg.batch, generator=gen).to(acc.device)
        loss = model(**b, eps=eps, t=t)
        opt.zero_grad(set_to_none=True)
        acc.backward(loss)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        bar.set_postfix(loss=f"{losses[-1]:.4f}")
    acc.wait_for_everyone()
    pipe.unet.eval()
    pipe.prompt_vae.eval()
    return losses


def save_pipeline(pipe: Any, out: Path, info: dict[str, Any]) -> Path:
    """save_pretrained into a hidden sibling renamed into place (zoo.atomic): a kill leaves the old folder or the new one."""
    from zoo.atomic import write_dir

    with write_dir(out, overwrite=True) as tmp:
        pipe.save_pretrained(str(tmp), safe_serialization=True)
        (tmp / "training.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    return Path(out).absolute()


def train_ec(spec: ModelSpec, config: dict[str, Any], save: bool = True) -> Any:
    """`zoo train ec-mini|ec-tiny`: returns the output folder (or the trained pipeline if not ``save``)."""
    import torch

    import zoo

    from .build import from_base

    cfg = parse_config(spec, config)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    t0 = time.perf_counter()
    torch.manual_seed(cfg.seed)
    base_id = spec.config["base"]
    base = zoo.load(base_id) if cfg.pretrained_base else zoo.build(base_id)
    pipe = from_base(spec, base)
    losses = fit(pipe, encode_edits(pipe, spec, cfg.samples, cfg.seed), cfg)
    k = max(1, len(losses) // 10)
    info = {"model_id": spec.id, "base": base_id, "config": cfg.model_dump(exclude={"out_dir", "progress"}),
            "loss_first": sum(losses[:k]) / k, "loss_last": sum(losses[-k:]) / k,
            "wall_s": round(time.perf_counter() - t0, 1), "torch": torch.__version__, "threads": torch.get_num_threads()}
    pipe._zoo_training = {**info, "losses": losses}
    if not save:
        return pipe
    return save_pipeline(pipe, Path(cfg.out_dir), info)
