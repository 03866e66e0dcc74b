"""The EDiT distillation recipe (``zoo train ID --recipe edit-distill``): the teacher's transformer,
converted, learns from the frozen original with

    loss = w_task * task + w_out * ||f_S(x_t) - f_T(x_t)||^2 + w_attn * mean_l ||A_S^l(x_t) - A_T^l(x_t)||^2

(task: epsilon prediction for DDPM-type schedulers, rectified-flow velocity for flow matching; A^l: the
output of converted attention layer l), through progressive resolutions. Trainable: the new attention
modules and the converted layers' projections; the rest is frozen. Clean latents are the teacher's own
samples of the recipe's prompts at each stage's resolution (no dataset can be downloaded here), drawn
*unguided*: the task loss then fits the conditional distribution the denoiser models. With guided samples
the student learnt guidance's sharpened distribution as its conditional one and guidance was applied a
second time at sampling (on mini-pixart the FD to real digits rose from the teacher's 37-40 to 49-54;
unguided, 37-41 over three init draws; benchmarks/edit_miniature.py). A share of examples (``uncond_prob``) carries the empty prompt, so the unconditional
branch that classifier-free guidance uses is distilled too.
accelerate runs it: one process by default, several with ``accelerate launch`` (each draws its own batches).
"""
from __future__ import annotations

import copy
import inspect
import json
from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from zoo import ZooError

WEIGHTS_FILE = "transformer.safetensors"
LOG_FILE = "distill_log.json"


class DistillConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    options: dict = Field(default_factory=dict, description="technique options (ratio, groups, ...)")
    resolutions: Optional[list[int]] = Field(None, description="[paper] progressive: default res/2, res, 2*res "
                                             "(512 -> 1024 -> 2048 for PixArt-Sigma)")
    steps: int = Field(200, ge=1, description="optimiser steps per resolution")
    lr: float = Field(1e-4, gt=0)
    batch_size: int = Field(4, ge=1, description="global batch (split over processes)")
    prompts: Optional[list[str]] = Field(None, description="default: digits prompts for proving-ground models, "
                                         "else the export calibration captions")
    samples: int = Field(16, ge=1, description="teacher samples per resolution (the clean latents)")
    sample_steps: int = Field(10, ge=1, description="teacher sampling steps for those latents")
    sample_guidance: Optional[float] = Field(1.0, ge=0, description="[choice] the teacher's guidance scale for "
                                             "those latents: 1 = unguided, the distribution the conditional "
                                             "denoiser models (None: the pipeline's default)")
    uncond_prob: float = Field(0.1, ge=0, le=1, description="[choice] share of training examples conditioned on "
                               "the empty prompt (the branch classifier-free guidance subtracts)")
    w_task: float = Field(1.0, ge=0, description="[choice] task-loss weight")
    w_out: float = Field(1.0, ge=0, description="[choice] output-distillation weight")
    w_attn: float = Field(1.0, ge=0, description="[choice] per-layer attention-output distillation weight")
    trainable: str = Field("modules+projections", pattern="^(modules|modules\\+projections)$",
                           description="[choice] what trains besides nothing else")
    eval_batch: int = Field(8, ge=1, description="held-out noised latents for the teacher-aligned error")
    seed: int = 0
    out_dir: Optional[Path] = None
    progress: bool = True


def parse(config: dict) -> DistillConfig:
    try:
        return DistillConfig(**config)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = " " + ".".join(str(p) for p in err["loc"]) if err["loc"] else "s"
        raise ZooError(f"edit-distill option{where}: {err['msg'].removeprefix('Value error, ')} "
                       f"(options: {', '.join(DistillConfig.model_fields)})") from None


def default_prompts(spec: Any) -> list[str]:
    if "digits" in spec.tags:
        from zoo.proving import PROMPTS

        return list(PROMPTS)
    from zoo.export.calibration import PROMPTS

    return list(PROMPTS)


# -- the two model kinds: conditioning, clean latents, noising and the transformer call -----------------
def _is_sd3(pipe: Any) -> bool:
    return type(pipe.transformer).__name__.startswith(("SD3", "MMEDiTSD3"))


def _max_len(pipe: Any) -> dict:
    params = inspect.signature(pipe.__call__).parameters
    return {"max_sequence_length": params["max_sequence_length"].default} if "max_sequence_length" in params else {}


def condition(pipe: Any, prompts: list[str]) -> dict:
    import torch

    with torch.no_grad():
        if _is_sd3(pipe):
            emb, _, pooled, _ = pipe.encode_prompt(prompts, None, None, do_classifier_free_guidance=False)
            return {"encoder_hidden_states": emb, "pooled_projections": pooled}
        emb, mask, _, _ = pipe.encode_prompt(prompts, do_classifier_free_guidance=False, clean_caption=False,
                                             **_max_len(pipe))
        return {"encoder_hidden_states": emb, "encoder_attention_mask": mask}


def teacher_latents(pipe: Any, prompts: list[str], res: int, steps: int, seed: int,
                    guidance: Optional[float] = None) -> Any:
    import torch

    kw = {"use_resolution_binning": False} if "use_resolution_binning" in inspect.signature(pipe.__call__).parameters else {}
    if guidance is not None:
        kw["guidance_scale"] = guidance
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        return pipe(prompts, height=res, width=res, num_inference_steps=steps, output_type="latent", generator=gen,
                    **kw, **_max_len(pipe)).images


def noised(pipe: Any, x0: Any, gen: Any) -> tuple[Any, Any, Any]:
    """(x_t, timestep, task target) for clean latents x0."""
    import torch

    noise = torch.randn(x0.shape, generator=gen).to(x0)
    b = x0.shape[0]
    if _is_sd3(pipe):  # rectified flow: x_t = (1 - s) x0 + s n, target n - x0
        s = torch.rand(b, generator=gen).to(x0)
        xt = (1 - s.view(-1, 1, 1, 1)) * x0 + s.view(-1, 1, 1, 1) * noise
        return xt, s * 1000, noise - x0
    n = pipe.scheduler.config.num_train_timesteps
    t = torch.randint(0, n, (b,), generator=gen)
    return pipe.scheduler.add_noise(x0, noise, t), t.to(x0.device), noise


def call(transformer: Any, xt: Any, t: Any, cond: dict, sd3: bool) -> Any:
    kw = {} if sd3 else {"added_cond_kwargs": {"resolution": None, "aspect_ratio": None}}
    out = transformer(hidden_states=xt, timestep=t, **cond, **kw).sample
    return out[:, : xt.shape[1]]  # PixArt-Sigma also predicts variance channels: the task is the epsilon half


def drop_prompts(cond: dict, uncond: dict, drop: Any) -> dict:
    """``cond`` with the rows where ``drop`` is true replaced by the (batch-1) empty-prompt conditioning."""
    import torch

    return {k: torch.where(drop.to(v.device).view(-1, *[1] * (v.dim() - 1)), uncond[k].to(v), v)
            for k, v in cond.items()}


# -- training -----------------------------------------------------------------------------------------
def trainable_parameters(transformer: Any, which: str) -> list:
    transformer.requires_grad_(False)
    params = []
    for attn in transformer.edit_attention_modules().values():
        mods = [attn.edit_kv] + ([attn.edit_q] if attn.edit_q is not None else [])
        if which == "modules+projections":
            mods += [attn.to_q, attn.to_k, attn.to_v, attn.to_out[0]]
        for m in mods:
            m.requires_grad_(True)
            params += list(m.parameters())
    return params


class Features:
    """Forward hooks keeping each named attention layer's (image) output of the last call."""

    def __init__(self, modules: dict[str, Any]):
        self.out: dict[str, Any] = {}
        self.handles = [m.register_forward_hook(self._hook(n)) for n, m in modules.items()]

    def _hook(self, name: str):
        def hook(module, args, output):
            self.out[name] = output[0] if isinstance(output, tuple) else output

        return hook

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


def train_edit(teacher_pipe: Any, technique_id: str, cfg: DistillConfig, resolutions: list[int],
               prompts: list[str]) -> tuple[Any, dict]:
    """Convert ``teacher_pipe.transformer`` (the pipeline keeps the converted one) and distil it from a
    frozen copy of the original. Returns (pipeline, log)."""
    import torch
    import torch.nn.functional as F
    from accelerate import Accelerator, DistributedDataParallelKwargs
    from tqdm.auto import tqdm

    from .technique import apply_edit

    sd3 = _is_sd3(teacher_pipe)
    teacher = copy.deepcopy(teacher_pipe.transformer).eval().requires_grad_(False)
    data = {}
    for i, res in enumerate(resolutions):  # clean latents from the unconverted teacher
        data[res] = teacher_latents(teacher_pipe, prompts[: cfg.samples] * -(-cfg.samples // len(prompts[: cfg.samples])),
                                    res, cfg.sample_steps, cfg.seed + i, cfg.sample_guidance)[: cfg.samples]
    conds = condition(teacher_pipe, (prompts[: cfg.samples] * cfg.samples)[: cfg.samples])
    uncond = condition(teacher_pipe, [""])
    with torch.random.fork_rng(devices=[]):  # ConvFusion's first conv draws its init: same seed, same run
        torch.manual_seed(cfg.seed)
        apply_edit(technique_id, teacher_pipe, cfg.options)
    student = teacher_pipe.transformer
    params = trainable_parameters(student, cfg.trainable)
    names = {n.removesuffix(".processor"): m for n, m in student.edit_attention_modules().items()}
    feats_s = Features(names)
    feats_t = Features({n: teacher.get_submodule(n) for n in names})
    acc = Accelerator(cpu=not torch.cuda.is_available(),
                      kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)])
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    wrapped, opt = acc.prepare(student.train(), opt)
    teacher.to(acc.device)
    per_proc = max(1, cfg.batch_size // acc.num_processes)
    log: dict = {"stages": []}
    bar = tqdm(total=cfg.steps * len(resolutions), desc="edit-distill", dynamic_ncols=True,
               disable=not (cfg.progress and acc.is_main_process))

    def held_out_error(res: int) -> float:
        gen = torch.Generator().manual_seed(cfg.seed + 99991)
        idx = torch.arange(min(cfg.eval_batch, cfg.samples))
        x0 = data[res][idx].to(acc.device)
        xt, t, _ = noised(teacher_pipe, x0, gen)
        c = {k: v[idx].to(acc.device) for k, v in conds.items()}
        with torch.no_grad():
            return float(F.mse_loss(call(student, xt, t, c, sd3), call(teacher, xt, t, c, sd3)))

    step = 0
    for res in resolutions:
        stage = {"resolution": res, "aligned_mse_before": held_out_error(res), "loss": []}
        for _ in range(cfg.steps):
            gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step * 101 + acc.process_index)
            idx = torch.randint(0, cfg.samples, (per_proc,), generator=gen)
            x0 = data[res][idx].to(acc.device)
            c = {k: v[idx].to(acc.device) for k, v in conds.items()}
            if cfg.uncond_prob > 0:
                c = drop_prompts(c, uncond, torch.rand(per_proc, generator=gen) < cfg.uncond_prob)
            xt, t, target = noised(teacher_pipe, x0, gen)
            with torch.no_grad():
                out_t = call(teacher, xt, t, c, sd3)
            out_s = call(wrapped, xt, t, c, sd3)
            attn = sum(F.mse_loss(feats_s.out[n], feats_t.out[n]) for n in names) / len(names)
            loss = cfg.w_task * F.mse_loss(out_s, target) + cfg.w_out * F.mse_loss(out_s, out_t) + cfg.w_attn * attn
            opt.zero_grad(set_to_none=True)
            acc.backward(loss)
            opt.step()
            stage["loss"].append(float(loss.detach()))
            step += 1
            bar.update(1)
            bar.set_postfix(res=res, loss=f"{stage['loss'][-1]:.3g}")
        stage["aligned_mse_after"] = held_out_error(res)
        log["stages"].append(stage)
    bar.close()
    feats_s.remove()
    feats_t.remove()
    acc.wait_for_everyone()
    student.eval().requires_grad_(False)
    return teacher_pipe, log


def save(pipe: Any, log: dict, out_dir: Path) -> Path:
    """The converted transformer's weights (safetensors) and the log, each written atomically."""
    import os

    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / (WEIGHTS_FILE + ".tmp")
    save_file({k: v.contiguous() for k, v in pipe.transformer.state_dict().items()}, str(tmp))
    os.replace(tmp, out_dir / WEIGHTS_FILE)
    tmp = out_dir / (LOG_FILE + ".tmp")
    tmp.write_text(json.dumps(log, indent=1))
    os.replace(tmp, out_dir / LOG_FILE)
    return out_dir / WEIGHTS_FILE


_CLI_KEYS = {"recipe", "stage", "data", "teacher", "resume", "device", "teacher_pretrained"}


def train_recipe(technique: Any, spec: Any, config: dict) -> Path:
    """``zoo train ID --recipe edit-distill``: load the model (its weights unless --random-teacher),
    convert, distil, write ``{out}/transformer.safetensors`` (load it with
    ``zoo.load(ID, techniques={technique: {"weights": PATH}})``)."""
    import zoo

    cfg = parse({k: v for k, v in config.items() if k not in _CLI_KEYS})
    from .config import parse as parse_options

    parse_options(technique.id, cfg.options)  # before loading anything
    out = Path(cfg.out_dir or f"runs/{spec.id}-{technique.id}")
    resolutions = cfg.resolutions or [spec.resolution // 2, spec.resolution, spec.resolution * 2]
    pipe = zoo.load(spec.id, pretrained=config.get("teacher_pretrained", True))
    pipe, log = train_edit(pipe, technique.id, cfg, resolutions, cfg.prompts or default_prompts(spec))
    from accelerate import PartialState

    if PartialState().is_main_process:  # one writer under accelerate launch
        log.update(model_id=spec.id, technique=technique.id, options=cfg.options)
        save(pipe, log, out)
    return out
