"""TOC-SR's training recipe on the core's distillation engine (``zoo.distill``):

1. ``adapt``    the expanded teacher: SD1.5's UNet weights (``init_from``) with new 16-channel
                conv_in / conv_out, fine-tuned on the f8c16 VAE's latents of photo patches with the
                epsilon loss (only conv_in/out by default);
2. ``block``    teacher slot inputs/outputs captured on noised latents, every surrogate of the library
                (R2/R4/R8 bottlenecks, A2/A4/A8 narrow transformers) trained alone against its slot
                (FwGD, sharded across processes);
3. ``search``   epsilon-constrained Bayesian optimisation over one option per slot group: minimise
                params (or MACs) subject to the teacher-aligned noise-prediction MSE <= epsilon, for a
                sweep of epsilons; writes ``search/front.json`` and ``search/front.png``;
4. ``onestep``  the student UNet (the spec's block choices, or the search's) initialised from the
                teacher and its distilled surrogates, trained as a one-step x4 generator: regression
                to HR + score distillation against the frozen teacher; saves ``pipeline/``.

``zoo train tocsr-x4 --out runs/tocsr`` runs them all; every stage resumes.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from zoo import ModelSpec

from .train_config import STAGES, TOCSRTrainConfig, parse_config


class Run:
    def __init__(self, spec: ModelSpec, cfg: TOCSRTrainConfig, progress: bool = True) -> None:
        import torch

        import zoo
        from zoo.distill import process_state
        from zoo.proving.photos import patches

        from .train_config import TOCSRTrainConfig  # noqa: F401  (typing)

        self.spec, self.cfg, self.progress = spec, cfg, progress
        self.out = Path(cfg.out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self.state = process_state()
        self.device = torch.device(cfg.device) if cfg.device else self.state.device
        self.teacher = zoo.load(cfg.teacher, pretrained=cfg.teacher_pretrained)
        self.teacher.set_progress_bar_config(disable=True)
        self.unet = self.teacher.unet.to(self.device).eval().requires_grad_(False)
        self.vae = self.teacher.vae.to(self.device).eval().requires_grad_(False)
        adapted = self.out / "adapt" / "unet.safetensors"
        if adapted.is_file():
            from zoo.distill import load_weights

            load_weights(adapted, self.unet)
        self.pool = patches("train", cfg.data.patch, cfg.data.count, cfg.seed)
        self.eval_pool = patches("test", cfg.data.patch, max(2, cfg.data.eval_batches * 2), cfg.seed)
        self._latents: dict[str, Any] = {}

    # ------------------------------------------------------------------ data
    def latents(self, split: str) -> Any:
        """Teacher-VAE latents of the HR patches (encoded once per run)."""
        import torch

        if split not in self._latents:
            from zoo.proving.photos import to_tensor

            pool = self.pool if split == "train" else self.eval_pool
            with torch.no_grad():
                self._latents[split] = torch.cat([self.teacher.encode(to_tensor(pool[i:i + 8]).to(self.device))
                                                  for i in range(0, len(pool), 8)])
        return self._latents[split]

    def batch_fn(self, split: str, size: int):
        import torch

        def fn(a: Any, b: Any = None) -> dict[str, Any]:
            # the engine calls batch_fn(step, gen) (alignment, evaluation) and batch_fn(gen, size) (capture)
            g = a if isinstance(a, torch.Generator) else b
            z = self.latents(split)
            idx = torch.randint(0, len(z), (size,), generator=g)
            return {"z_t": z[idx.to(z.device)], "cond": self.teacher.context(size)}

        return fn

    def scheduler(self) -> Any:
        from diffusers import DDPMScheduler

        return DDPMScheduler.from_config(self.teacher.scheduler.config)

    def slots(self) -> dict[str, str]:
        from .library import slots

        return slots(self.unet)

    # what the compact phase (block + search stages) measures; tocsr-x4-mini's run overrides them
    def denoiser(self) -> Any:
        """The model whose slot I/O the block stage captures, called as ``model(noisy, t, cond)``."""
        return self.unet

    def forward_process(self) -> Any:
        """The scheduler that noises the captured batches (``add_noise``, ``config.num_train_timesteps``)."""
        return self.scheduler()

    def fidelity(self, student: Any) -> float:
        """The search's teacher-aligned error of a student UNet: its noise prediction against the
        expanded teacher's on held-out noised latents."""
        from zoo.distill import noise_prediction_error

        return noise_prediction_error(student, self.unet, self.batch_fn("test", self.cfg.capture.batch_size),
                                      self.cfg.data.eval_batches, device=self.device)


# ---------------------------------------------------------------------------- stages
def stage_adapt(run: Run) -> dict[str, Any]:
    import torch

    import zoo
    from zoo.distill import train

    cfg = run.cfg.adapt
    if cfg.init_from:
        src = zoo.load(cfg.init_from, pretrained=run.cfg.teacher_pretrained).unet.state_dict()
        own = run.unet.state_dict()
        keep = {k: v for k, v in src.items() if k in own and own[k].shape == v.shape}
        run.unet.load_state_dict(keep, strict=False)
    trainable = ([run.unet.conv_in, run.unet.conv_out] if cfg.train == "io" else [run.unet])
    run.unet.requires_grad_(False)
    for m in trainable:
        m.requires_grad_(True)
    sched, batches = run.scheduler(), run.batch_fn("train", cfg.batch_size)

    def loss(step: int, gen: torch.Generator) -> torch.Tensor:
        b = batches(step, gen)
        t = torch.randint(0, sched.config.num_train_timesteps, (cfg.batch_size,), generator=gen).to(run.device)
        eps = torch.randn(b["z_t"].shape, generator=gen).to(run.device)
        pred = run.unet(sched.add_noise(b["z_t"], eps, t), t, encoder_hidden_states=b["cond"]).sample
        return torch.nn.functional.mse_loss(pred.float(), eps)

    res = train({"unet": run.unet}, loss, cfg, run.out / "adapt", desc="adapt teacher to 16 channels", key="adapt",
                resume=run.cfg.resume, progress=run.progress)
    run.unet.requires_grad_(False).eval()
    return {"final_loss": res.final_loss, "init_from": cfg.init_from, "trained": cfg.train}


def candidates(run: Run) -> list[Any]:
    from zoo.distill import Candidate

    from .library import surrogate_for

    opts = run.cfg.search.options
    out = []
    for path, kind in run.slots().items():
        block = run.unet.get_submodule(path)
        for o in opts[kind]:
            if o in ("R", "A", "-"):
                continue  # the teacher's own block, or nothing to train
            out.append(Candidate(path, o, build=lambda b=block, o=o: surrogate_for(b, o),
                                 weight=float(sum(p.numel() for p in block.parameters()))))
    return out


def stage_block(run: Run) -> dict[str, Any]:
    from zoo.distill import capture_and_distill

    c = run.cfg
    return capture_and_distill(run.denoiser(), list(run.slots()), candidates(run), run.batch_fn("train", c.capture.batch_size),
                               run.forward_process(), c.capture, c.blocks, run.out / "block", seed=c.seed, device=run.device,
                               resume=c.resume, progress=run.progress, state=run.state)


def student_unet(run: Run, surrogates: dict[str, str], missing: list | None = None) -> Any:
    """The teacher's UNet with distilled surrogates (or dropped transformers) in the named slots.
    With a ``missing`` list, a surrogate the block stage did not distil starts from random init and
    its slot is appended to the list; without one that is an error."""
    from zoo.distill import Candidate, candidate_name, load_block, set_stage

    from .library import DroppedTransformer, surrogate_for

    unet = copy.deepcopy(run.unet)
    blocks = run.out / "block" / "blocks"
    for path, opt in surrogates.items():
        if opt in ("R", "A"):
            continue
        if opt == "-":
            set_stage(unet, path, DroppedTransformer())
            continue
        block = run.unet.get_submodule(path)
        cand = Candidate(path, opt, build=lambda b=block, o=opt: surrogate_for(b, o))
        if missing is not None and not (blocks / candidate_name(path, opt)).is_dir():
            missing.append(f"{path}:{opt}")
            set_stage(unet, path, cand.build().to(run.device))
            continue
        set_stage(unet, path, load_block(cand, blocks).to(run.device))
    # the config names the surrogates, so save_pretrained / from_pretrained rebuild the same network
    unet.register_to_config(surrogates={p: o for p, o in sorted(surrogates.items()) if o not in ("R", "A")})
    return unet.eval()


def _config_of(unet: Any) -> dict[str, Any]:
    return {k: v for k, v in dict(unet.config).items() if not k.startswith("_") and k != "surrogates"}


def stage_search(run: Run) -> dict[str, Any]:
    from zoo.distill import search_architectures

    from .costs import assemble, slot_table
    from .library import options
    from .variants import slot_paths

    scfg = run.cfg.search
    groups = {g: ps for g, ps in slot_paths().items() if all(p in run.slots() for p in ps)}
    space = {g: [o for o in options(run.slots()[ps[0]]) if o in scfg.options[run.slots()[ps[0]]]] for g, ps in groups.items()}
    base, table = slot_table(_config_of(run.unet))
    memo: dict[tuple, dict[str, float]] = {}

    def surrogates(arch: dict[str, str]) -> dict[str, str]:
        return {p: arch[g] for g, ps in groups.items() for p in ps}

    def evaluate(arch: dict[str, str]) -> dict[str, float]:
        key = tuple(sorted(arch.items()))
        if key not in memo:
            sur = surrogates(arch)
            err = run.fidelity(student_unet(run, sur))
            memo[key] = {scfg.fidelity: err, **assemble(base, table, sur)}
        return memo[key]

    teacher_arch = {g: o[0] for g, o in space.items()}
    cheapest = {g: min(o, key=lambda x: assemble(base, table, surrogates({**teacher_arch, g: x}))[scfg.cost])
                for g, o in space.items()}
    lo, hi = evaluate(teacher_arch)[scfg.fidelity], evaluate(cheapest)[scfg.fidelity]
    front = []
    for k in scfg.epsilons:
        eps = lo + k * (hi - lo)
        cfg = scfg.model_copy(update={"epsilon": eps, "out_dir": run.out / "search" / f"eps-{k:g}"})
        res = search_architectures(space, evaluate, cfg, initial=[teacher_arch, cheapest], progress=run.progress,
                                   resume=run.cfg.resume)
        b = res.best
        front.append({"epsilon_rel": k, "epsilon": eps, "arch": b.arch if b else None,
                      **({m: b.metrics[m] for m in (scfg.fidelity, "params", "macs")} if b else {})})
    _write_front(run.out / "search", front, scfg.cost, scfg.fidelity)
    return {"front": front, "teacher_error": lo, "cheapest_error": hi}


def _write_front(out: Path, front: list[dict[str, Any]], cost: str, fidelity: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from zoo.atomic import write_file, write_text

    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "front.json", json.dumps(front, indent=1))
    pts = [f for f in front if f.get("arch")]
    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=120)
    ax.plot([f["epsilon"] for f in pts], [f[cost] for f in pts], "o-")
    ax.set_xlabel(f"epsilon ({fidelity} bound)")
    ax.set_ylabel(f"cheapest feasible {cost}")
    ax.set_title("TOC-SR epsilon sweep")
    fig.tight_layout()
    with write_file(out / "front.png") as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def chosen_surrogates(run: Run) -> dict[str, str]:
    from .variants import slot_paths

    if run.cfg.student == "search":
        front = json.loads((run.out / "search" / "front.json").read_text())
        arch = next((f["arch"] for f in front if f.get("arch")), None)
        if arch is None:
            from zoo import ZooError

            raise ZooError("the search found no feasible architecture; raise search.epsilons or use student: spec")
        return {p: arch[g] for g, ps in slot_paths().items() if g in arch for p in ps}
    return dict(run.spec.config["components"]["unet"]["config"].get("surrogates", {}))


def stage_onestep(run: Run) -> dict[str, Any]:
    import torch

    from zoo.distill import train

    from .data import sr_batch
    from .losses import regression, score_distillation
    from .pipeline import TOCSRPipeline

    cfg, c = run.cfg.onestep, run.cfg
    sur = chosen_surrogates(run)
    untrained: list[str] = []
    unet = student_unet(run, sur, missing=untrained)
    vae = copy.deepcopy(run.vae)
    student = TOCSRPipeline(unet=unet, vae=vae, scheduler=run.scheduler(), **{
        k: run.teacher.config[k] for k in ("scale", "timestep", "context_tokens", "mb_per_lr_pixel")})
    unet.requires_grad_(True).train()
    vae.requires_grad_(cfg.train_vae)
    sched = run.scheduler()

    def teacher_eps(z_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return run.unet(z_t, t, encoder_hidden_states=run.teacher.context(z_t.shape[0])).sample

    def loss(step: int, gen: torch.Generator) -> torch.Tensor:
        lr, hr = sr_batch(run.pool, step, cfg.batch_size, c.data.degradation, c.seed)
        up = torch.nn.functional.interpolate(lr.to(run.device), scale_factor=4, mode="bicubic", align_corners=False)
        z = student.one_step(student.encode(up.clamp(-1, 1)))
        total = cfg.regression_weight * regression(student.decode(z), hr.to(run.device))
        if cfg.dm_weight > 0:
            total = total + cfg.dm_weight * score_distillation(z, teacher_eps, sched, gen, cfg.dm_t_min, cfg.dm_t_max)
        return total

    modules = {"unet": unet, **({"vae": vae} if cfg.train_vae else {})}
    res = train(modules, loss, cfg, run.out / "onestep", desc="one-step SR distillation", key="onestep",
                resume=c.resume, progress=run.progress)
    student.unet.eval()
    if run.state.is_main_process:
        from zoo.atomic import write_dir

        with write_dir(run.out / "pipeline", overwrite=True) as tmp:  # complete or absent; normal file modes
            student.to("cpu").save_pretrained(str(tmp), safe_serialization=True)
    return {"final_loss": res.final_loss, "surrogates": sur, "surrogates_not_distilled": untrained}


# ---------------------------------------------------------------------------- entry
def train_tocsr(spec: ModelSpec, config: dict[str, Any], progress: bool = True) -> Path:
    """The ``train_model`` hook: run the requested stages (``all``: each, skipping those done)."""
    from zoo.distill import run_stages

    cfg = parse_config(config)
    run = Run(spec, cfg, progress=progress)
    todo = STAGES if cfg.stage == "all" else (cfg.stage,)
    run_stages(run.out, todo, {"adapt": lambda: stage_adapt(run), "block": lambda: stage_block(run),
                               "search": lambda: stage_search(run), "onestep": lambda: stage_onestep(run)},
               resume=cfg.resume, state=run.state)
    if run.state.is_main_process:
        from zoo.atomic import write_text

        write_text(run.out / "config.json", cfg.model_dump_json(indent=1))
    return run.out
