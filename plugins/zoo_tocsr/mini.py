"""tocsr-x4-mini: TOC-SR's whole recipe in miniature, from the proving ground's trained multi-step
SR teacher ``mini-sr`` on its training photos (held-out photos never seen). One command,
``zoo train tocsr-x4-mini`` (or ``benchmarks/tocsr_mini.py``), runs the paper's three phases:

1. expand    ``vae``      the 16-channel latent: an f2c16 AutoencoderKL learns to reconstruct HR patches;
             ``expand``   the expanded UNet (the miniature's ``tocsr-teacher``: the tiny TOCSRUNet layout
                          with the teacher's own block in every slot, 3.2M params) learns the x4 task in that
                          latent as a one-step generator, from mini-sr (the losses below). mini-sr is a
                          pixel-space UNet2DModel (a 3-channel "latent", no cross-attention), so unlike SD1.5
                          its blocks cannot be carried into the 16-channel layout by new conv_in / conv_out:
                          at mini scale, expanding means building the full-width 16-channel model and
                          transferring mini-sr's task to it by distillation [choice].
2. compact   ``block``    FwGD: every surrogate of the library (R2/R4/R8, A2/A4/A8) trained alone against
                          its slot of the expanded UNet, slot I/O captured at the one-step operating point
                          (LR latents at the fixed timestep); the full-size block stage, another capture;
             ``search``   the engine's epsilon-constrained search (minimise params subject to the
                          teacher-aligned error <= epsilon, an epsilon sweep; ``search/front.json`` + plot);
                          the error is the MSE of the student's one-step output image to the expanded
                          UNet's on other training patches (no held-out photo steers the search).
3. distil    ``onestep``  the student (the search's blocks at the first epsilon, kept blocks from the
                          expanded UNet, surrogates from FwGD) and the VAE trained end to end as the
                          one-step x4 generator; writes ``pipeline/``.

One-step losses (``expand`` and ``onestep``): regression to HR, and score distillation against the
frozen mini-sr in its own space (the residual over bicubic); regression to mini-sr's DDIM samples
is available (``teacher_weight``) but off by default: on held-out patches mini-sr's output is below
bicubic in PSNR. The student's input is the pipeline's own bicubic (torch), as at inference; the
decoder gives a latent residual (``skip``: the miniature VAE is far from lossless). Each stage's
wall and process CPU seconds land in ``{out_dir}/{stage}.done.json``.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from zoo.distill import BlockDistillConfig, CaptureConfig

from .train_config import TOCSRSearchConfig

STAGES = ("vae", "expand", "block", "search", "onestep")


class MiniConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    out_dir: Path = Path("runs/tocsr-x4-mini")
    stage: Literal["vae", "expand", "block", "search", "onestep", "all"] = "all"
    teacher: str = Field("mini-sr", description="the multi-step SR teacher (zoo id)")
    teacher_weights: Optional[str] = Field(None, description="a folder of teacher weights (default: shipped)")
    teacher_pretrained: bool = Field(True, description="False: a random-init teacher (tests of the plumbing only)")
    teacher_steps: int = Field(1, ge=1, description="DDIM steps of the teacher's targets")
    patch: int = Field(32, ge=16, description="HR training patch")
    count: int = Field(2048, ge=8)
    vae_steps: int = Field(400, ge=1)
    vae_batch_size: int = Field(8, ge=1)
    expand_steps: int = Field(800, ge=1, description="one-step training of the expanded UNet")
    steps: int = Field(800, ge=1, description="one-step distillation of the compact student")
    batch_size: int = Field(8, ge=1)
    lr: float = Field(1e-3, gt=0)
    teacher_weight: float = Field(0.0, ge=0, description="regression to the teacher's samples (0: off; mini-sr's "
                                  "one-step output is below bicubic on held-out patches, so it pulls PSNR down)")
    hr_weight: float = Field(1.0, ge=0, description="regression to the HR patch")
    dm_weight: float = Field(0.01, ge=0, description="score distillation against the teacher")
    fidelity_count: int = Field(64, ge=2, description="training-photo patches (another draw) of the search's error")
    student: Literal["spec", "search"] = Field(
        "search", description="'search': the cheapest feasible blocks at the sweep's first epsilon; 'spec': "
        "tocsr-x4's block choices")
    capture: CaptureConfig = Field(default_factory=lambda: CaptureConfig(n_batches=16, batch_size=8))
    blocks: BlockDistillConfig = Field(default_factory=lambda: BlockDistillConfig(
        steps=64, lr=2e-3, lr_schedule="cosine", checkpoint_every=1000))
    search: TOCSRSearchConfig = Field(default_factory=lambda: TOCSRSearchConfig(
        n_trials=30, n_startup_trials=10, fidelity="output_mse", epsilons=[0.25, 0.5, 1.0]))
    seed: int = 0
    resume: bool = Field(True, description="continue each stage from its checkpoint (zoo.distill.train)")
    progress: bool = True


def mini_pipeline() -> Any:
    """The untrained student as the spec registers it: TOCSRPipeline(TOCSRUNet, f2c16 VAE)."""
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


class AtTimestep:
    """The expanded UNet as the block stage calls a denoiser, ``model(x, t, cond)``, run at the
    one-step pipeline's fixed timestep whatever ``t`` the engine drew (slot paths are the UNet's)."""

    def __init__(self, unet: Any, timestep: int) -> None:
        self.unet, self.timestep = unet, int(timestep)

    def get_submodule(self, name: str) -> Any:
        return self.unet.get_submodule(name)

    @property
    def training(self) -> bool:
        return self.unet.training

    def eval(self) -> "AtTimestep":
        self.unet.eval()
        return self

    def train(self, mode: bool = True) -> "AtTimestep":
        self.unet.train(mode)
        return self

    def __call__(self, x: Any, t: Any, cond: Any) -> Any:
        import torch

        return self.unet(x, torch.full_like(t, self.timestep), encoder_hidden_states=cond).sample


class Unnoised:
    """A forward process that leaves the batch as it is: the one-step input is the clean LR latent."""

    class config:  # noqa: N801  (read as scheduler.config.num_train_timesteps)
        num_train_timesteps = 1000

    @staticmethod
    def add_noise(z: Any, noise: Any, t: Any) -> Any:
        return z


class MiniRun:
    """What train.py's block / search stages and helpers read from a run, for the miniature."""

    def __init__(self, cfg: MiniConfig) -> None:
        import torch
        import torch.nn.functional as F

        import zoo
        from zoo.distill import process_state
        from zoo.proving.photos import sr_pairs, to_tensor, upscale_batch

        from .unet import TOCSRUNet

        self.cfg, self.progress = cfg, cfg.progress
        self.out = Path(cfg.out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self.state = process_state(cpu=True)
        self.device = torch.device("cpu")
        self.spec = zoo.get_spec("tocsr-x4-mini")
        torch.manual_seed(cfg.seed)
        self.teacher = load_teacher(cfg)
        # the expanded UNet: the student's layout with the teacher's own block in every slot
        unet_cfg = {k: v for k, v in self.spec.config["components"]["unet"]["config"].items() if k != "surrogates"}
        base = mini_pipeline()
        self.unet, self.vae, self.sched = TOCSRUNet(surrogates={}, **unet_cfg), base.vae, base.scheduler
        self.pipe = self.pipeline(self.unet, self.vae)
        lr_u8, hr_u8 = sr_pairs("train", cfg.patch, cfg.count, 4, cfg.seed)
        self.lr_u8, self.hr = lr_u8, to_tensor(hr_u8)
        self.bic = to_tensor(upscale_batch(lr_u8))  # the teacher's condition (PIL bicubic, as mini-sr was trained)
        self.up = self.upscale(to_tensor(lr_u8))  # the student's input
        held = sr_pairs("train", cfg.patch, cfg.fidelity_count, 4, cfg.seed + 1)[0]
        self.fid_up = self.upscale(to_tensor(held))
        self._fid_target: Any = None
        self.F = F

    @staticmethod
    def upscale(lr: Any) -> Any:
        import torch.nn.functional as F

        return F.interpolate(lr, scale_factor=4, mode="bicubic", align_corners=False).clamp(-1, 1)

    def pipeline(self, unet: Any, vae: Any) -> Any:
        from .pipeline import TOCSRPipeline

        return TOCSRPipeline(unet=unet, vae=vae, scheduler=self.sched, **self.spec.config.get("pipeline_kwargs", {}))

    def load(self, stage: str) -> None:
        """The weights a finished stage wrote (``vae``: the VAE; ``expand``: the expanded UNet + VAE)."""
        from zoo.distill import load_weights

        load_weights(self.out / stage / "vae.safetensors", self.vae)
        if stage == "expand":
            load_weights(self.out / stage / "unet.safetensors", self.unet)

    # ---------------------------------------------------------------- what train.py's stages read
    def slots(self) -> dict[str, str]:
        from .library import slots

        return slots(self.unet)

    def batch_fn(self, split: str, size: int):
        import torch

        def fn(a: Any, b: Any = None) -> dict[str, Any]:
            g = a if isinstance(a, torch.Generator) else b
            idx = torch.randint(0, len(self.up), (size,), generator=g)
            with torch.no_grad():
                return {"z_t": self.pipe.encode(self.up[idx]), "cond": self.pipe.context(size)}

        return fn

    def denoiser(self) -> Any:
        return AtTimestep(self.unet, self.pipe.config.timestep)

    def forward_process(self) -> Any:
        return Unnoised()

    def fidelity(self, student: Any) -> float:
        """MSE of the student's one-step output image to the expanded UNet's (same VAE, same inputs)."""
        import torch

        with torch.no_grad():
            if self._fid_target is None:
                self._fid_target = self.pipe.restore(self.fid_up)
            out = self.pipeline(student.eval(), self.vae).restore(self.fid_up)
        return float(self.F.mse_loss(out, self._fid_target))


# -------------------------------------------------------------------------------------------- stages
def _train_config(cfg: MiniConfig, steps: int, batch_size: int) -> Any:
    from zoo.distill import TrainConfig

    return TrainConfig(steps=steps, batch_size=batch_size, lr=cfg.lr, seed=cfg.seed, checkpoint_every=100,
                       lr_schedule="cosine")


def stage_vae(run: MiniRun) -> dict[str, Any]:
    import torch

    from zoo.distill import train

    cfg, vae = run.cfg, run.vae
    vae.requires_grad_(True).train()

    def loss(step: int, gen: torch.Generator) -> torch.Tensor:
        x = run.hr[torch.randint(0, len(run.hr), (cfg.vae_batch_size,), generator=gen)]
        return run.F.mse_loss(vae.decode(vae.encode(x).latent_dist.mode()).sample, x)

    res = train({"vae": vae}, loss, _train_config(cfg, cfg.vae_steps, cfg.vae_batch_size), run.out / "vae",
                desc="tocsr-x4-mini VAE", key="vae", resume=cfg.resume, progress=cfg.progress)
    return {"final_loss": res.final_loss}


def one_step_training(run: MiniRun, pipe: Any, steps: int, key: str, desc: str) -> dict[str, Any]:
    """Train ``pipe`` (its UNet and VAE) as the one-step x4 generator: regression to HR (+ to the
    teacher's samples when ``teacher_weight``) + score distillation against the frozen teacher."""
    import torch

    from zoo.distill import load_weights, train

    from .losses import regression, score_distillation

    cfg, teacher = run.cfg, run.teacher
    target = None
    if cfg.teacher_weight > 0:
        with torch.no_grad():
            target = teacher_outputs(teacher, run.lr_u8, cfg.teacher_steps, cfg.seed)
    t_sched = teacher.scheduler
    t_unet = teacher.unet.requires_grad_(False).eval()
    rs = float(teacher.config.residual_scale)

    def teacher_eps(r_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        # mini-sr predicts v on its residual; eps = sqrt(ab) v + sqrt(1 - ab) x_t
        ab = t_sched.alphas_cumprod.to(r_t.device)[t].view(-1, 1, 1, 1)
        v = t_unet(torch.cat([r_t, cond], 1), t).sample
        return ab.sqrt() * v + (1 - ab).sqrt() * r_t

    def loss(step: int, gen: torch.Generator) -> torch.Tensor:
        idx = torch.randint(0, len(run.hr), (cfg.batch_size,), generator=gen)
        y = pipe.restore(run.up[idx])
        total = cfg.hr_weight * regression(y, run.hr[idx])
        if target is not None:
            total = total + cfg.teacher_weight * regression(y, target[idx])
        if cfg.dm_weight > 0:
            r = (y - run.bic[idx]) * rs
            total = total + cfg.dm_weight * score_distillation(r, lambda r_t, t: teacher_eps(r_t, t, run.bic[idx]),
                                                               t_sched, gen, 20, 980)
        return total

    pipe.unet.requires_grad_(True).train()
    pipe.vae.requires_grad_(True).train()
    res = train({"unet": pipe.unet, "vae": pipe.vae}, loss, _train_config(cfg, steps, cfg.batch_size), run.out / key,
                desc=desc, key=key, resume=cfg.resume, progress=cfg.progress)
    load_weights(run.out / key / "unet.safetensors", pipe.unet)  # also when a finished run was reused
    load_weights(run.out / key / "vae.safetensors", pipe.vae)
    pipe.unet.eval()
    pipe.vae.eval()
    return {"final_loss": res.final_loss}


def stage_expand(run: MiniRun) -> dict[str, Any]:
    import torch

    torch.nn.init.zeros_(run.unet.conv_out.weight)  # starts as bicubic: the residual decode of an unchanged latent
    torch.nn.init.zeros_(run.unet.conv_out.bias)
    res = one_step_training(run, run.pipe, run.cfg.expand_steps, "expand", "tocsr-x4-mini expanded UNet")
    return {**res, "unet_params": sum(p.numel() for p in run.unet.parameters())}


def stage_onestep(run: MiniRun) -> dict[str, Any]:
    from .train import chosen_surrogates, student_unet

    sur = chosen_surrogates(run) if run.cfg.student == "search" else dict(
        run.spec.config["components"]["unet"]["config"]["surrogates"])
    student = run.pipeline(student_unet(run, sur), copy.deepcopy(run.vae))
    res = one_step_training(run, student, run.cfg.steps, "onestep", "tocsr-x4-mini one-step student")
    if run.state.is_main_process:
        from zoo.atomic import write_dir

        with write_dir(run.out / "pipeline", overwrite=True) as tmp:  # complete or absent; normal file modes
            student.save_pretrained(str(tmp), safe_serialization=True)
    return {**res, "surrogates": sur, "unet_params": sum(p.numel() for p in student.unet.parameters())}


def _timed(fn: Any) -> Any:
    """``fn()``'s result with the stage's wall and process CPU seconds (every thread of the process)."""
    import resource
    import time

    def usage() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    def run() -> dict[str, Any]:
        w, c = time.perf_counter(), usage()
        res = fn()
        return {**res, "wall_s": round(time.perf_counter() - w, 1), "cpu_s": round(usage() - c, 1)}

    return run


def train_mini(cfg: MiniConfig) -> Path:
    """The requested stages (``all``: each, skipping those done); returns ``{out_dir}/pipeline``."""
    from zoo.distill import run_stages

    from .train import stage_block, stage_search

    run = MiniRun(cfg)

    def after(stage: str) -> Any:
        def fn() -> dict[str, Any]:  # a stage starts from the weights of the last training stage before it
            prev = [s for s in ("vae", "expand") if STAGES.index(s) < STAGES.index(stage)]
            if prev:
                run.load(prev[-1])
            return {"vae": lambda: stage_vae(run), "expand": lambda: stage_expand(run),
                    "block": lambda: stage_block(run), "search": lambda: stage_search(run),
                    "onestep": lambda: stage_onestep(run)}[stage]()

        return _timed(fn)

    todo = STAGES if cfg.stage == "all" else (cfg.stage,)
    run_stages(run.out, todo, {s: after(s) for s in STAGES}, resume=cfg.resume, state=run.state)
    return run.out / "pipeline"
