"""EdgeDiT's training recipe on the core's distillation engine (``zoo.distill``):

1. ``block``     capture the teacher's block and block-pair inputs/outputs (forward hooks over
                 sampled timesteps, noise and classes) and train the proxies alone against them,
                 ``L = ||T_l(x) - S_l(x)||^2`` (FwKD): one merge proxy per pair, a half-MLP and a
                 narrow-attention proxy per block (70 for DiT-XL/2), sharded across processes;
2. ``search``    multi-objective Bayesian optimisation (optuna GP, LogEHVI) over the 28-D
                 relaxation: fidelity (teacher-aligned noise-prediction error of the assembled
                 student) vs latency summed from the per-block cost table (``costs.py``);
3. ``finetune``  the chosen student, assembled from its proxies, trained end to end with the
                 epsilon-prediction loss [paper] (or aligned to the teacher's prediction); the
                 DiTPipeline is saved in diffusers layout.

``zoo train edgedit-1 --stage all --out runs/edgedit-1``; every stage resumes.
Data [choice]: latents the teacher samples itself (DDIM, random classes): ImageNet is not
available here and the proxies only need inputs from the teacher's own distribution.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from zoo import ModelSpec, ZooError
from zoo.distill import AlignConfig, BlockDistillConfig, CaptureConfig, SearchConfig, TrainConfig, validate

STAGES = ("block", "search", "finetune")
SCHEDULE_KEYS = ("num_train_timesteps", "beta_start", "beta_end", "beta_schedule")


def teacher_schedule(scheduler: Any) -> dict[str, Any]:
    """The forward process the teacher was trained with (DiT-XL/2: 1000 linear betas 1e-4..0.02),
    read from its pipeline's scheduler: every noised input of the recipe uses it."""
    return {k: scheduler.config[k] for k in SCHEDULE_KEYS}


class DataConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n_samples: int = Field(256, ge=2, description="teacher-sampled latents (with their classes)")
    n_eval: int = Field(16, ge=1, description="held-out samples for every teacher-aligned number")
    teacher_steps: int = Field(25, ge=1, description="DDIM steps per teacher sample")
    guidance_scale: float = Field(1.5, ge=1.0, description="[choice] CFG of the teacher samples")
    uncond_prob: float = Field(0.1, ge=0, le=1, description="null-class rate in training batches (DiT's CFG dropout)")
    num_classes: Optional[int] = Field(None, ge=1, description="classes to sample (default: all of the teacher's)")


class FinetuneConfig(TrainConfig):
    loss: Literal["epsilon", "teacher"] = Field(
        "epsilon", description="'epsilon': the paper's noise-prediction loss on the data; 'teacher': MSE to the "
        "teacher's prediction (the engine's alignment)")
    out_dir: Path = Path("distill-out/finetune")


class EdgeDiTSearchConfig(SearchConfig):
    cost: str = Field("latency_ms", description="latency_ms (per-block table), macs or params")
    n_trials: int = Field(60, ge=1)
    n_startup_trials: int = Field(12, ge=1)


class EdgeDiTTrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    teacher: Optional[str] = Field(None, description="DiTPipeline zoo id of the teacher (default: the variant's)")
    teacher_pretrained: bool = Field(True, description="False: random-init teacher (dry runs and tests)")
    out_dir: Path = Path("runs/edgedit")
    stage: Literal["block", "search", "finetune", "all"] = "all"
    resume: bool = False
    device: Optional[str] = None
    seed: int = 0
    data_cfg: DataConfig = Field(default_factory=DataConfig, alias="dataset")
    capture: CaptureConfig = Field(default_factory=lambda: CaptureConfig(n_batches=64, batch_size=4))
    blocks: BlockDistillConfig = Field(default_factory=lambda: BlockDistillConfig(steps=2000, lr=1e-4, checkpoint_every=200))
    search: EdgeDiTSearchConfig = Field(default_factory=EdgeDiTSearchConfig)
    latency: Literal["cpu", "aihub", "none"] = Field(
        "cpu", description="per-block latency table: measured on this CPU, Qualcomm AI Hub profiles, or none (MACs)")
    latency_repeats: int = Field(5, ge=1)
    aihub_device: Optional[str] = Field(None, description="AI Hub device of latency: aihub (default Samsung Galaxy S25)")
    eval_batches: int = Field(4, ge=1, description="held-out batches per teacher-aligned error")
    eval_batch_size: int = Field(4, ge=1)
    student: Literal["spec", "search"] = Field(
        "spec", description="'spec': the variant's own block choices; 'search': the Pareto member with the lowest "
        "error among those no costlier than the variant's choices")
    budget: float = Field(
        0.61, gt=0, le=1, description="[choice] student: search on a teacher the variant has no block choices for: "
        "the lowest-error Pareto member within this fraction of the teacher's cost (EdgeDiT-1's FLOPs ratio)")
    finetune: FinetuneConfig = Field(default_factory=lambda: FinetuneConfig(steps=2000, lr=1e-5, batch_size=4,
                                                                            checkpoint_every=200))


def parse_config(config: dict[str, Any]) -> EdgeDiTTrainConfig:
    data = dict(config or {})
    if "dataset" not in data and "data_cfg" in data:
        data["dataset"] = data.pop("data_cfg")
    cfg = validate(EdgeDiTTrainConfig, data, "EdgeDiT training config")
    if cfg.search.cost == "latency_ms" and cfg.latency == "none":
        raise ZooError("search.cost is latency_ms but latency is 'none': set latency: cpu, or search.cost: macs")
    return cfg


# ------------------------------------------------------------------------------ teacher view
def staged_teacher(teacher: Any) -> Any:
    """The all-original EdgeDiT seen as stages the engine hooks: ``blocks.i`` (one teacher block)
    and ``pairs.k`` (blocks 2k, 2k+1 together: the merge proxies' target)."""
    import torch

    class Pair(torch.nn.Module):
        def __init__(self, first: Any, second: Any) -> None:
            super().__init__()
            self.first, self.second = first, second

        def forward(self, hidden_states: Any, *cond: Any) -> Any:
            return self.second(self.first(hidden_states, *cond), *cond)

    class Staged(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model
            self.blocks = model.transformer_blocks
            n = len(self.blocks)
            self.pairs = torch.nn.ModuleList(Pair(self.blocks[i], self.blocks[i + 1]) for i in range(0, n - 1, 2))

        def forward(self, hidden_states: Any, timestep: Any, class_labels: Any) -> Any:
            tokens, cond = self.model.embed(hidden_states, timestep, class_labels)
            for pair in self.pairs:
                tokens = pair(tokens, *cond)
            if len(self.blocks) % 2:
                tokens = self.blocks[-1](tokens, *cond)
            return self.model.unembed(tokens, cond)

    return Staged(teacher)


def dit_call(model: Any, noisy: Any, t: Any, labels: Any) -> Any:
    """Noise prediction (the epsilon channels; DiT's learned-sigma channels are not distilled)."""
    out = model(noisy, t, class_labels=labels, return_dict=False)[0]
    return out[:, : noisy.shape[1]]


# ------------------------------------------------------------------------------ context
class Run:
    """Everything the stages share: teacher, data, space, folders."""

    def __init__(self, spec: ModelSpec, cfg: EdgeDiTTrainConfig, teacher_pipe: Any = None, data: Any = None,
                 progress: bool = True) -> None:
        import torch

        from zoo.distill import process_state

        from .convert import from_dit
        from .model import EdgeDiTTransformer2DModel
        from .space import narrow_widths, search_space, stage_names

        self.spec, self.cfg, self.progress = spec, cfg, progress
        self.out = Path(cfg.out_dir)
        self.state = process_state(cpu=cfg.device == "cpu" or None)
        self.device = torch.device(cfg.device) if cfg.device else self.state.device
        self.pipe = teacher_pipe if teacher_pipe is not None else _load_teacher(spec, cfg)
        tr = self.pipe.transformer
        if isinstance(tr, EdgeDiTTransformer2DModel):
            if tr.config.blocks is not None:
                raise ZooError("the teacher must be an all-original DiT (EdgeDiT with blocks=None or DiTTransformer2DModel)")
            teacher = tr
        else:
            teacher = from_dit(tr)
        self.teacher = teacher.to(self.device).eval().requires_grad_(False)
        self.tcfg = {k: v for k, v in dict(self.teacher.config).items() if not k.startswith("_") and k != "blocks"}
        self.n_layers = self.tcfg["num_layers"]
        self.narrow = narrow_widths(self.tcfg["num_attention_heads"], self.tcfg["attention_head_dim"])
        self.stage_names = stage_names(self.n_layers)
        self.space = search_space(self.n_layers)
        self.num_classes = self.tcfg["num_embeds_ada_norm"]
        with self.state.main_process_first():  # rank 0 samples, the others read its file
            self.data = data if data is not None else self._teacher_data()
        n = self.data["latents"].shape[0]
        if n <= cfg.data_cfg.n_eval:
            raise ZooError(f"{n} samples cannot hold {cfg.data_cfg.n_eval} held-out ones; add samples or lower n_eval")
        self.n_train = n - cfg.data_cfg.n_eval  # the last n_eval samples are never trained on
        self.schedule = AlignConfig(**teacher_schedule(self.pipe.scheduler))

    def _teacher_data(self) -> dict[str, Any]:
        from .train_data import teacher_latents

        return teacher_latents(self.teacher, self.pipe.scheduler, self.out / "data" / "latents.safetensors",
                               n=self.cfg.data_cfg.n_samples, steps=self.cfg.data_cfg.teacher_steps,
                               guidance_scale=self.cfg.data_cfg.guidance_scale, seed=self.cfg.seed,
                               num_classes=self.cfg.data_cfg.num_classes or self.num_classes,
                               device=self.device, progress=self.progress)

    # -- batches ---------------------------------------------------------------------------
    def batch(self, gen: Any, size: int, held_out: bool = False) -> dict[str, Any]:
        import torch

        lo, hi = (self.n_train, self.data["latents"].shape[0]) if held_out else (0, self.n_train)
        idx = torch.randint(lo, hi, (size,), generator=gen)
        labels = self.data["labels"][idx].clone()
        labels[torch.rand(size, generator=gen) < self.cfg.data_cfg.uncond_prob] = self.num_classes  # null class
        return {"z_t": self.data["latents"][idx].to(self.device), "cond": labels.to(self.device)}

    # -- proxies and students --------------------------------------------------------------
    def block_spec(self, index: int, option: str) -> dict[str, Any]:
        arch = ["full"] * self.n_layers
        arch[index] = option
        return next(b for b in self._blocks(arch) if b["source"] == index)

    def _blocks(self, arch: list[str]) -> list[dict[str, Any]]:
        from .space import arch_to_blocks

        return arch_to_blocks(arch, self.n_layers, heads=self.tcfg["num_attention_heads"],
                              head_dim=self.tcfg["attention_head_dim"], mlp_ratio=self.tcfg["mlp_ratio"], **self.narrow)

    def candidate(self, index: int, option: str) -> Any:
        from zoo.distill import Candidate

        from .convert import reduced_block
        from .space import MERGE

        spec = self.block_spec(index, option)
        stage = f"pairs.{index // 2}" if option == MERGE else f"blocks.{index}"
        weight = 2.0 if option == MERGE else 1.0  # a pair's capture holds twice the teacher compute
        return Candidate(stage, option, lambda: reduced_block(self.teacher, spec), weight=weight)

    def candidates(self) -> list[Any]:
        from .space import proxies

        return [self.candidate(self.stage_names.index(s), c) for s, c in proxies(self.n_layers)]

    def student(self, arch: list[str], blocks: Literal["distilled", "teacher"] = "distilled") -> Any:
        """The assembled transformer: original blocks from the teacher, the others distilled proxies
        (``narrow`` composed from its two) or, with ``blocks='teacher'``, teacher-sliced and undistilled."""
        from zoo.distill import load_block

        from .convert import compose_narrow, from_teacher
        from .space import ORIGINAL, validate_arch

        arch = validate_arch(arch, self.n_layers)
        model = from_teacher(self.teacher, self._blocks(arch))
        if blocks == "distilled":
            for j, b in enumerate(model.block_specs):
                opt = arch[b["source"]]
                if opt == ORIGINAL:
                    continue
                if opt == "narrow":
                    blk = compose_narrow(load_block(self.candidate(b["source"], "narrow-attn"), self.out / "blocks"),
                                         load_block(self.candidate(b["source"], "half-mlp"), self.out / "blocks"))
                else:
                    blk = load_block(self.candidate(b["source"], opt), self.out / "blocks")
                model.transformer_blocks[j] = blk
        return model.to(self.device).eval()

    def fidelity(self, model: Any) -> float:
        """Teacher-aligned noise-prediction MSE on held-out latents (DiT's forward process)."""
        from zoo.distill import noise_prediction_error

        return noise_prediction_error(model, self.teacher, lambda b, gen: self.batch(gen, self.cfg.eval_batch_size, True),
                                      self.cfg.eval_batches, seed=self.cfg.seed + 777, call=dit_call,
                                      device=self.device, schedule=self.schedule)


def _load_teacher(spec: ModelSpec, cfg: EdgeDiTTrainConfig) -> Any:
    import zoo

    tid = cfg.teacher or spec.config.get("teacher")
    if cfg.teacher_pretrained:
        return zoo.load(tid)
    import torch

    from .train_data import random_teacher

    torch.manual_seed(cfg.seed)
    return random_teacher(spec, tid)


# ------------------------------------------------------------------------------ stages
def stage_block(run: Run) -> dict[str, Any]:
    """Capture the teacher's block and pair I/O, then distil every proxy (sharded across ranks)."""
    from zoo.distill import capture_and_distill, ddpm

    cfg = run.cfg
    stages = sorted({c.stage for c in run.candidates()})
    return capture_and_distill(staged_teacher(run.teacher), stages, run.candidates(), run.batch, ddpm(run.schedule),
                               cfg.capture, cfg.blocks, run.out, seed=cfg.seed, device=run.device, resume=cfg.resume,
                               progress=run.progress, state=run.state)


def cost_table(run: Run) -> dict[str, Any]:
    """The per-block table, measured once per run folder (and reused on resume)."""
    from .costs import cost_table as measure

    path = run.out / "search" / "cost_table.json"
    if path.is_file():
        return json.loads(path.read_text())
    table = measure(run.tcfg, run.narrow, run.cfg.latency, run.cfg.latency_repeats, progress=run.progress,
                    aihub_device=run.cfg.aihub_device)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"latency": run.cfg.latency, "table": table}, indent=1))
    tmp.replace(path)
    return {"latency": run.cfg.latency, "table": table}


def stage_search(run: Run) -> dict[str, Any]:
    from zoo.distill import search_architectures

    from .costs import arch_cost
    from .space import MERGE, canonical, original_arch

    cfg = run.cfg
    table = cost_table(run)["table"]
    memo: dict[tuple[str, ...], dict[str, float]] = {}

    def evaluate(arch: dict[str, str]) -> dict[str, float]:
        key = canonical([arch[n] for n in run.stage_names], run.n_layers)
        if key not in memo:  # the second block of a merged pair does not change the model
            m = {"fidelity": run.fidelity(run.student(list(key)))}
            m.update(arch_cost(table, list(key), run.tcfg, run.narrow))
            memo[key] = m
        return memo[key]

    metric = cfg.search.cost if cfg.search.cost in table["full"] else "macs"
    cheap = {}
    for i, n in enumerate(run.stage_names):  # per pair: the cheaper of merging and narrowing both
        opts = run.space[n]
        cheap[n] = min((o for o in opts if o != MERGE), key=lambda o: table[o][metric])
        if MERGE in opts:
            narrow_pair = 2 * table[cheap[n]][metric]
            if table["full"][metric] < narrow_pair:
                cheap[n] = MERGE
    initial = [dict(zip(run.stage_names, original_arch(run.n_layers))), cheap]
    spec_arch = run.spec.config.get("arch")
    if spec_arch and len(spec_arch) == run.n_layers:
        initial.append(dict(zip(run.stage_names, spec_arch)))
    scfg = cfg.search.model_copy(update={"out_dir": run.out / "search", "cost": metric})
    res = search_architectures(run.space, evaluate, scfg, initial=initial, progress=run.progress, resume=cfg.resume)
    return {"pareto": [e.arch for e in res.pareto], "json": str(res.json_path), "png": str(res.png_path),
            "cost": metric}


def chosen_arch(run: Run) -> list[str]:
    from .costs import arch_cost
    from .space import validate_arch

    spec_arch = run.spec.config.get("arch")
    if run.cfg.student == "spec":
        if not spec_arch or len(spec_arch) != run.n_layers:
            raise ZooError(f"{run.spec.id}'s block choices are for a {len(spec_arch or [])}-block teacher, this teacher "
                           f"has {run.n_layers}: pass student: search (after the search stage)")
        return validate_arch(spec_arch, run.n_layers)
    path = run.out / "search" / "search.json"
    if not path.is_file():
        raise ZooError(f"student='search' needs the search stage's {path}; run --stage search first")
    found = json.loads(path.read_text())
    pareto = found["pareto"]
    if not pareto:
        raise ZooError(f"the search in {path} found no architecture")
    key = found["objectives"][1]
    table = cost_table(run)["table"]
    if spec_arch and len(spec_arch) == run.n_layers:
        budget = arch_cost(table, spec_arch, run.tcfg, run.narrow)[key]
    else:  # no variant for this teacher: a fraction of the teacher's cost
        budget = run.cfg.budget * arch_cost(table, ["full"] * run.n_layers, run.tcfg, run.narrow)[key]
    within = [e for e in pareto if e["metrics"][key] <= budget] or pareto[:1]
    return [min(within, key=lambda e: e["metrics"]["fidelity"])["arch"][n] for n in run.stage_names]


def stage_finetune(run: Run) -> dict[str, Any]:
    """Fine-tune the chosen student end to end; save the pipeline and the numbers."""
    import torch

    from zoo.distill import align_student, ddpm, load_weights, train

    from .space import canonical

    cfg = run.cfg
    arch = list(canonical(chosen_arch(run), run.n_layers))
    numbers: dict[str, Any] = {"arch": dict(zip(run.stage_names, arch))}
    with torch.no_grad():
        numbers["error_teacher_init_blocks"] = run.fidelity(run.student(arch, "teacher"))
        numbers["error_distilled"] = run.fidelity(run.student(arch))
    student = run.student(arch).requires_grad_(True)
    fcfg = cfg.finetune.model_copy(update={"out_dir": run.out / "finetune"})
    if fcfg.loss == "teacher":
        acfg = AlignConfig(**{**fcfg.model_dump(exclude={"loss"}), **teacher_schedule(run.pipe.scheduler)})
        r = align_student(student, run.teacher, lambda s, g: run.batch(g, fcfg.batch_size), acfg, call=dit_call,
                          trainable={"transformer": student}, resume=cfg.resume, progress=run.progress,
                          device=run.device)
    else:
        sched = ddpm(run.schedule)

        def loss(step: int, gen: Any) -> Any:
            batch = run.batch(gen, fcfg.batch_size)
            x0 = batch["z_t"]
            t = torch.randint(0, sched.config.num_train_timesteps, (x0.shape[0],), generator=gen).to(run.device)
            eps = torch.randn(x0.shape, generator=gen).to(run.device)
            pred = dit_call(student, sched.add_noise(x0, eps, t), t, batch["cond"])
            return torch.nn.functional.mse_loss(pred.float(), eps.float())

        r = train({"transformer": student}, loss, fcfg, Path(fcfg.out_dir), desc="fine-tune student (epsilon)",
                  key="finetune", resume=cfg.resume, progress=run.progress)
    load_weights(run.out / "finetune" / "transformer.safetensors", student)
    student.eval()
    with torch.no_grad():
        numbers["error_finetuned"] = run.fidelity(student)
    numbers["finetune_loss"] = cfg.finetune.loss
    numbers["finetune_final_loss"] = r.final_loss
    if run.state.is_main_process:
        save_pipeline(run, student)
        (run.out / "report.json").write_text(json.dumps(numbers, indent=1))
    return numbers


def save_pipeline(run: Run, transformer: Any) -> Path:
    from zoo.building import build_pipeline

    pipe = build_pipeline("DiTPipeline", {"transformer": transformer.to("cpu"), "vae": run.pipe.vae,
                                          "scheduler": run.pipe.scheduler})
    out = run.out / "pipeline"
    pipe.save_pretrained(str(out), safe_serialization=True)
    transformer.to(run.device)
    return out


# ------------------------------------------------------------------------------ entry
def train_edgedit(spec: ModelSpec, config: dict[str, Any], teacher_pipe: Any = None, data: Any = None,
                  progress: bool = True) -> Path:
    """The ``train_model`` hook: run the requested stages (``all``: every one, skipping those done).
    ``data`` ({"latents", "labels"}) replaces the teacher-sampled latents (the miniature passes the
    proving ground's digits)."""
    from zoo.distill import run_stages

    cfg = parse_config(config)
    run = Run(spec, cfg, teacher_pipe=teacher_pipe, data=data, progress=progress)
    todo = STAGES if cfg.stage == "all" else (cfg.stage,)
    run_stages(run.out, todo, {"block": lambda: stage_block(run), "search": lambda: stage_search(run),
                               "finetune": lambda: stage_finetune(run)}, resume=cfg.resume, state=run.state)
    if run.state.is_main_process:
        (run.out / "config.json").write_text(cfg.model_dump_json(indent=1, by_alias=True))
    return run.out
