"""NanoSD's training recipe on the core's distillation engine (``zoo.distill``):

1. ``block``  FwGD of the 30 surrogate blocks against the nanosd-l teacher's stages (stage
              inputs captured with forward hooks over sampled timesteps, noise and prompts);
2. ``search`` Bayesian optimisation over the 32,768 combinations: teacher-aligned error vs
              params (or MACs / measured latency); Pareto set as JSON + PNG;
3. ``vae``    the tiny VAE distilled from the teacher's KL-VAE (posterior + feature matching);
4. ``align``  the chosen student (assembled from distilled blocks) and tiny VAE fine-tuned to
              the teacher's noise prediction; the pipeline is saved in diffusers layout.

Every stage resumes: finished stages are skipped, interrupted ones continue from their last
checkpoint. ``zoo train nanosd-s --stage all --out runs/nanosd-s``.

Fidelity in the search [choice]: the paper's taFID needs Inception weights and thousands of
samples; the zoo's default is the teacher-aligned noise-prediction MSE on held-out noised
latents (same timesteps and noise for student and teacher), which needs neither.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from zoo import ModelSpec, ZooError
from zoo.distill.config import AlignConfig, BlockDistillConfig, CaptureConfig, SearchConfig, TrainConfig, validate

STAGES = ("block", "search", "vae", "align")


class DataConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n_samples: int = Field(256, ge=2)
    n_eval: int = Field(16, ge=1, description="held-out samples for every teacher-aligned number")
    latents: Literal["auto", "images", "teacher", "random"] = "auto"
    teacher_steps: int = Field(20, ge=1, description="denoising steps for teacher-generated latents")
    uncond_prob: float = Field(0.1, ge=0, le=1, description="[choice] empty-prompt rate, so CFG's branch is learnt too")


class NanoSDTrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    teacher: Optional[str] = Field(None, description="teacher zoo id (default: the variant's, e.g. sd15)")
    teacher_pretrained: bool = Field(True, description="False: random-init teacher (dry runs and tests)")
    data: Optional[Path] = None
    out_dir: Path = Path("runs/nanosd")
    stage: Literal["block", "search", "vae", "align", "all"] = "all"
    resume: bool = False
    device: Optional[str] = None
    seed: int = 0
    resolution: Optional[int] = Field(None, description="training resolution in pixels (default: the spec's)")
    data_cfg: DataConfig = Field(default_factory=DataConfig, alias="dataset")
    capture: CaptureConfig = Field(default_factory=lambda: CaptureConfig(n_batches=64, batch_size=4))
    blocks: BlockDistillConfig = Field(default_factory=lambda: BlockDistillConfig(steps=2000, lr=1e-4, checkpoint_every=200))
    search: SearchConfig = Field(default_factory=lambda: SearchConfig(n_trials=60, n_startup_trials=12))
    eval_batches: int = Field(4, ge=1, description="held-out batches per teacher-aligned error")
    eval_batch_size: int = Field(4, ge=1)
    student: Literal["spec", "search"] = Field(
        "spec", description="'spec': align the variant's own stage_choices; 'search': the Pareto member with the "
        "lowest error among those no costlier than the variant's choices")
    reference: Literal["full", "surgery"] = Field(
        "full", description="teacher of fidelity and alignment: the full teacher UNet (SD1.5) or nanosd-l")
    vae: TrainConfig = Field(default_factory=lambda: TrainConfig(steps=2000, lr=1e-4, batch_size=4, checkpoint_every=200))
    align: AlignConfig = Field(default_factory=lambda: AlignConfig(steps=2000, lr=1e-5, batch_size=4, checkpoint_every=200))
    use_student_vae: bool = Field(True, description="align on the student VAE's latents z_s when the vae stage ran")


def parse_config(config: dict[str, Any]) -> NanoSDTrainConfig:
    data = dict(config or {})
    if "dataset" not in data and "data_cfg" in data:
        data["dataset"] = data.pop("data_cfg")
    return validate(NanoSDTrainConfig, data, "NanoSD training config")


# ------------------------------------------------------------------------------ context
class Run:
    """Everything the stages share: teacher models, data, devices, folders."""

    def __init__(self, spec: ModelSpec, cfg: NanoSDTrainConfig, teacher_pipe: Any = None, progress: bool = True) -> None:
        import torch

        from zoo.distill import process_state

        from .choices import STAGE_NAMES, options_for
        from .train_data import prepare_data
        from .unet import NanoSDUNet

        self.spec, self.cfg, self.progress = spec, cfg, progress
        self.out = Path(cfg.out_dir)
        self.state = process_state(cpu=cfg.device == "cpu" or None)
        self.device = torch.device(cfg.device) if cfg.device else self.state.device
        self.pipe = teacher_pipe if teacher_pipe is not None else _load_teacher(spec, cfg)
        self.pipe.to(self.device)
        for m in (self.pipe.unet, self.pipe.vae, self.pipe.text_encoder):
            m.requires_grad_(False).eval()
        # nanosd-l: the teacher after surgery, every block original (the FwGD teacher)
        self.teacher_l = NanoSDUNet.from_teacher(self.pipe.unet).to(self.device).eval().requires_grad_(False)
        self.reference = self.pipe.unet if cfg.reference == "full" else self.teacher_l
        self.stage_paths = [f"down_blocks.{i}" for i in range(3)] + [f"up_blocks.{i}" for i in range(3)]
        self.stage_names = list(STAGE_NAMES)
        self.space = {n: list(options_for(i)) for i, n in enumerate(STAGE_NAMES)}
        res = cfg.resolution or spec.resolution
        with self.state.main_process_first():  # rank 0 prepares, the others read its file
            self.data = prepare_data(self.pipe, self.out / "data", data=cfg.data, n_samples=cfg.data_cfg.n_samples,
                                     resolution=res, latents=cfg.data_cfg.latents,
                                     teacher_steps=cfg.data_cfg.teacher_steps, seed=cfg.seed, device=self.device,
                                     progress=progress)
        n = self.data["latents"].shape[0]
        if n <= cfg.data_cfg.n_eval:
            raise ZooError(f"{n} samples cannot hold {cfg.data_cfg.n_eval} held-out ones; add data or lower n_eval")
        self.n_train = n - cfg.data_cfg.n_eval  # the last n_eval samples are never trained on
        self.sf = self.pipe.vae.config.scaling_factor

    # -- batches -----------------------------------------------------------------------------
    def batch(self, gen: Any, size: int, held_out: bool = False) -> dict[str, Any]:
        """Random samples (train split, or the held-out split) with the empty prompt at uncond_prob."""
        import torch

        lo, hi = (self.n_train, self.data["latents"].shape[0]) if held_out else (0, self.n_train)
        idx = torch.randint(lo, hi, (size,), generator=gen)
        ehs = self.data["ehs"][idx].clone()
        drop = torch.rand(size, generator=gen) < self.cfg.data_cfg.uncond_prob
        ehs[drop] = self.data["uncond"][0]
        out = {"z_t": self.data["latents"][idx].to(self.device), "cond": ehs.to(self.device), "idx": idx}
        if "images" in self.data:
            out["images"] = self.data["images"][idx].to(self.device)
        return out

    def images_for(self, batch: dict[str, Any]) -> Any:
        """Images of a batch: the data's, or the teacher VAE's decoding of its latents."""
        import torch

        if "images" in batch:
            return batch["images"]
        with torch.no_grad():
            return self.pipe.vae.decode(batch["z_t"] / self.sf).sample.clamp(-1, 1)

    # -- students ------------------------------------------------------------------------------
    def candidate(self, stage_index: int, choice: str) -> Any:
        from zoo.distill import Candidate

        from .unet import build_stage

        teacher_stage = self.teacher_l.stages[stage_index]

        def build() -> Any:
            blk = build_stage(self.teacher_l.config, stage_index, choice)
            # start from the teacher's weights, removed sub-modules dropped (same names)
            src = teacher_stage.state_dict()
            blk.load_state_dict({k: src[k] for k in blk.state_dict()}, strict=True)
            return blk

        # blocks per option: a cheap proxy of the training cost, to balance ranks
        return Candidate(self.stage_paths[stage_index], choice, build, weight=float(len(choice)))

    def candidates(self) -> list[Any]:
        from .choices import ORIGINAL

        return [self.candidate(i, c) for i, n in enumerate(self.stage_names) for c in self.space[n] if c != ORIGINAL[i]]

    def student(self, arch: list[str], blocks: Literal["distilled", "teacher", "fresh"] = "distilled") -> Any:
        """The assembled UNet: kept stages from nanosd-l, the others distilled / teacher-init / fresh."""
        import torch

        from zoo.distill import load_block, seed_for

        from .choices import ORIGINAL
        from .unet import NanoSDUNet, build_stage

        unet = NanoSDUNet.from_teacher(self.teacher_l, list(arch))
        for i, c in enumerate(arch):
            if c == ORIGINAL[i] or blocks == "teacher":
                continue
            if blocks == "fresh":
                torch.manual_seed(seed_for(self.cfg.seed, "fresh", i, c))
                unet.set_stage(i, build_stage(unet.config, i, c))
            else:
                unet.set_stage(i, load_block(self.candidate(i, c), self.out / "blocks"))
        return unet.to(self.device).eval()

    def fidelity(self, unet: Any, student_vae: Any = None) -> float:
        """Teacher-aligned noise-prediction MSE on held-out latents (student VAE latents for the
        student when given)."""
        from zoo.distill import noise_prediction_error

        def batch_fn(b: int, gen: Any) -> dict[str, Any]:
            batch = self.batch(gen, self.cfg.eval_batch_size, held_out=True)
            if student_vae is not None:
                batch["z_s"] = student_vae.encode(self.images_for(batch)).latent_dist.mean * self.sf
            return batch

        return noise_prediction_error(unet, self.reference, batch_fn, self.cfg.eval_batches, seed=self.cfg.seed + 777,
                                      device=self.device)


def _load_teacher(spec: ModelSpec, cfg: NanoSDTrainConfig) -> Any:
    import zoo

    tid = cfg.teacher or spec.config.get("teacher")
    if not tid:
        raise ZooError(f"{spec.id} names no teacher; pass --teacher ID")
    if cfg.teacher_pretrained:
        return zoo.load(tid)
    import torch

    torch.manual_seed(cfg.seed)
    return zoo.build(tid)


# ------------------------------------------------------------------------------ stages
def stage_block(run: Run) -> dict[str, Any]:
    """Capture nanosd-l's stage I/O and distil the 30 surrogate blocks (sharded across ranks)."""
    from zoo.distill import capture_stage_io, distill_blocks, seed_for
    import torch

    cfg = run.cfg
    sched = _ddpm()

    def run_fn(model: Any, b: int) -> None:
        gen = torch.Generator().manual_seed(seed_for(cfg.capture.seed + cfg.seed, "capture", b))
        batch = run.batch(gen, cfg.capture.batch_size)
        t = torch.randint(0, sched.config.num_train_timesteps, (cfg.capture.batch_size,), generator=gen)
        noise = torch.randn(batch["z_t"].shape, generator=gen).to(run.device)
        t = t.to(run.device)
        model(sched.add_noise(batch["z_t"], noise, t), t, batch["cond"])

    data = capture_stage_io(run.teacher_l, run.stage_paths, run_fn, cfg.capture.n_batches, run.out / "capture",
                            dtype=cfg.capture.dtype, resume=cfg.resume, progress=run.progress, state=run.state)
    bcfg = cfg.blocks.model_copy(update={"out_dir": run.out / "blocks"})
    res = distill_blocks(run.candidates(), data, bcfg, resume=cfg.resume, progress=run.progress, state=run.state)
    summary = {name: r.final_loss for name, r in res.items()}
    if run.state.is_main_process:
        (run.out / "blocks" / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def _ddpm() -> Any:
    from zoo.distill.align import ddpm

    return ddpm(AlignConfig())


def stage_search(run: Run) -> dict[str, Any]:
    from zoo.distill import search_architectures

    from .choices import ORIGINAL
    from .stage_costs import combination_cost, stage_option_costs

    cfg = run.cfg
    lat = (cfg.resolution or run.spec.resolution) // run.pipe.vae_scale_factor
    costs = stage_option_costs(dict(run.teacher_l.config), latent=lat,
                               text_len=run.data["ehs"].shape[1])

    def evaluate(arch: dict[str, str]) -> dict[str, float]:
        choices = [arch[n] for n in run.stage_names]
        unet = run.student(choices)
        c = combination_cost(costs, choices)
        m = {"fidelity": run.fidelity(unet), "params": float(c["params"]), "macs": float(c["macs"])}
        if cfg.search.cost == "latency_ms":
            m["latency_ms"] = _latency_ms(unet, run)
        return m

    scfg = cfg.search.model_copy(update={"out_dir": run.out / "search"})
    cheapest = {n: min(run.space[n], key=lambda c, n=n: len(c)) for n in run.stage_names}
    res = search_architectures(run.space, evaluate, scfg, initial=[dict(zip(run.stage_names, ORIGINAL)), cheapest],
                               progress=run.progress, resume=cfg.resume)
    return {"pareto": [e.arch for e in res.pareto], "json": str(res.json_path), "png": str(res.png_path)}


def _latency_ms(unet: Any, run: Run, reps: int = 5) -> float:
    import torch

    lat = (run.cfg.resolution or run.spec.resolution) // run.pipe.vae_scale_factor
    x = torch.randn(1, unet.config.in_channels, lat, lat, device=run.device)
    ehs = run.data["ehs"][:1].to(run.device)
    t = torch.tensor([500], device=run.device)
    times = []
    with torch.no_grad():
        for i in range(reps + 2):  # two warm-up calls
            if run.device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            unet(x, t, ehs)
            if run.device.type == "cuda":
                torch.cuda.synchronize()
            if i >= 2:
                times.append((time.perf_counter() - t0) * 1e3)
    return sorted(times)[len(times) // 2]


def stage_vae(run: Run) -> dict[str, Any]:
    """Tiny VAE: encoder ||mu_t-mu_s||^2 + ||sigma_t-sigma_s||^2, decoder feature matching."""
    from zoo.distill import train

    from .build import build_vae
    from .vae_losses import DecoderFeatureLoss, encoder_posterior_loss, teacher_decoder_features

    cfg, tvae = run.cfg, run.pipe.vae
    import torch

    torch.manual_seed(cfg.seed)
    svae = build_vae(run.spec).to(run.device)
    feat_loss = DecoderFeatureLoss.for_models(svae, tvae).to(run.device)

    def loss(step: int, gen: Any) -> Any:
        batch = run.batch(gen, cfg.vae.batch_size)
        x = run.images_for(batch)
        with torch.no_grad():
            post_t = tvae.encode(x).latent_dist
            z = post_t.mean  # both decoders read the teacher's latent (same latent space)
            img_t, feats_t = teacher_decoder_features(tvae, z)
        enc = encoder_posterior_loss(post_t, svae.encode(x).latent_dist)
        img_s, feats_s = svae.decode_with_features(z)
        return enc + feat_loss(img_s, feats_s, img_t, feats_t)

    vcfg = cfg.vae
    r = train({"vae": svae, "feature_proj": feat_loss}, loss, vcfg, run.out / "vae", desc="distil tiny VAE",
              key="vae", resume=cfg.resume, progress=run.progress)
    return {"final_loss": r.final_loss}


def chosen_arch(run: Run) -> list[str]:
    from .choices import validate_choices

    spec_arch = validate_choices(run.spec.config["unet"]["stage_choices"])
    if run.cfg.student == "spec":
        return spec_arch
    path = run.out / "search" / "search.json"
    if not path.is_file():
        raise ZooError(f"student='search' needs the search stage's {path}; run --stage search first")
    found = json.loads(path.read_text())
    key = run.cfg.search.cost
    pareto = found["pareto"]
    if not pareto:
        raise ZooError(f"the search in {path} found no feasible architecture")
    if found["best"]:  # constrained mode: its pick
        return [found["best"]["arch"][n] for n in run.stage_names]
    budget = None
    for e in found["evaluated"]:
        if [e["arch"][n] for n in run.stage_names] == spec_arch:
            budget = e["metrics"][key]
    if budget is None:  # the variant's own choices were not evaluated: its analytic cost
        from .stage_costs import combination_cost, stage_option_costs

        lat = (run.cfg.resolution or run.spec.resolution) // run.pipe.vae_scale_factor
        table = stage_option_costs(dict(run.teacher_l.config), latent=lat, text_len=run.data["ehs"].shape[1])
        budget = combination_cost(table, spec_arch).get(key, float("inf"))
    within = [e for e in pareto if e["metrics"][key] <= budget] or pareto[:1]
    best = min(within, key=lambda e: e["metrics"]["fidelity"])
    return [best["arch"][n] for n in run.stage_names]


def stage_align(run: Run) -> dict[str, Any]:
    """Align the chosen student to the reference teacher; save the pipeline and the numbers."""
    import torch

    from zoo.distill import align_student, load_weights

    from .build import build_vae

    cfg = run.cfg
    arch = chosen_arch(run)
    svae = None
    if cfg.use_student_vae and (run.out / "vae" / "vae.safetensors").is_file():
        svae = load_weights(run.out / "vae" / "vae.safetensors", build_vae(run.spec)).to(run.device).eval()
        svae.requires_grad_(cfg.align.train_vae)
    numbers: dict[str, Any] = {"arch": dict(zip(run.stage_names, arch)), "reference": cfg.reference,
                               "student_vae": svae is not None}
    with torch.no_grad():
        numbers["error_fresh_blocks"] = run.fidelity(run.student(arch, "fresh"))
        numbers["error_teacher_init_blocks"] = run.fidelity(run.student(arch, "teacher"))
        numbers["error_distilled"] = run.fidelity(run.student(arch))
        if svae is not None:
            numbers["error_distilled_student_vae"] = run.fidelity(run.student(arch), svae)
    student = run.student(arch)
    student.requires_grad_(True)

    def batch_fn(step: int, gen: Any) -> dict[str, Any]:
        batch = run.batch(gen, cfg.align.batch_size)
        if svae is not None:
            ctx = torch.enable_grad() if cfg.align.train_vae else torch.no_grad()
            with ctx:
                batch["z_s"] = svae.encode(run.images_for(batch)).latent_dist.mean * run.sf
        return batch

    trainable = {"unet": student, **({"vae": svae} if svae is not None and cfg.align.train_vae else {})}
    acfg = cfg.align.model_copy(update={"out_dir": run.out / "align"})
    r = align_student(student, run.reference, batch_fn, acfg, trainable=trainable, resume=cfg.resume,
                      progress=run.progress, device=run.device)
    load_weights(run.out / "align" / "unet.safetensors", student)
    student.eval()
    with torch.no_grad():
        numbers["error_aligned"] = run.fidelity(student)
        if svae is not None:
            numbers["error_aligned_student_vae"] = run.fidelity(student, svae)
    numbers["align_final_loss"] = r.final_loss
    # what alignment optimises: the student on its own VAE's latents when it has one
    tag = "_student_vae" if svae is not None else ""
    numbers["error_before_align"] = numbers[f"error_distilled{tag}"]
    numbers["error_after_align"] = numbers[f"error_aligned{tag}"]
    _save_pipeline(run, student, svae)
    (run.out / "report.json").write_text(json.dumps(numbers, indent=1))
    return numbers


def _save_pipeline(run: Run, unet: Any, svae: Any) -> None:
    from zoo.building import build_pipeline

    vae = svae if svae is not None else run.pipe.vae
    pipe = build_pipeline("StableDiffusionPipeline", {
        "unet": unet.to("cpu"), "vae": vae.to("cpu"), "text_encoder": run.pipe.text_encoder.to("cpu"),
        "tokenizer": run.pipe.tokenizer, "scheduler": run.pipe.scheduler,
    }, safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(str(run.out / "pipeline"), safe_serialization=True)
    run.pipe.text_encoder.to(run.device)
    unet.to(run.device)
    if svae is not None:
        svae.to(run.device)


# ------------------------------------------------------------------------------ entry
def train_nanosd(spec: ModelSpec, config: dict[str, Any], teacher_pipe: Any = None, progress: bool = True) -> Path:
    """The ``train_model`` hook: run the requested stages (``all``: every one, skipping those done)."""
    cfg = parse_config(config)
    run = Run(spec, cfg, teacher_pipe=teacher_pipe, progress=progress)
    todo = STAGES if cfg.stage == "all" else (cfg.stage,)
    main = run.state.is_main_process
    log: dict[str, Any] = {}
    for stage in todo:
        done = run.out / f"{stage}.done.json"
        if done.is_file():
            if not cfg.resume:
                raise ZooError(f"{run.out} already holds a finished '{stage}' stage; pass --resume to skip it "
                               "or choose another --out")
            log[stage] = json.loads(done.read_text())
            continue
        if stage == "block":
            log[stage] = stage_block(run)  # every rank: candidates are sharded
        elif main:  # the other stages run on one process; the rest wait
            log[stage] = {"search": stage_search, "vae": stage_vae, "align": stage_align}[stage](run)
        run.state.wait_for_everyone()
        if main:
            done.write_text(json.dumps(log.get(stage, {}), indent=1, default=str))
    if main:
        (run.out / "config.json").write_text(cfg.model_dump_json(indent=1, by_alias=True))
    return run.out
