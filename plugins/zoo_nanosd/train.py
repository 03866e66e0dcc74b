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

Fidelity in the search [choice] (``search_fidelity``): the paper's taFID needs Inception
weights and thousands of samples; the zoo's default is the teacher-aligned noise-prediction
MSE on held-out noised latents (same timesteps and noise for student and teacher), which needs
neither; ``tafid`` is selectable (``tafid.py``).

Files: ``train_config`` (the config), ``train_run`` (shared state), ``train_stages`` (block,
vae, align), ``train_search`` (search), ``tafid``, ``train_data``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from zoo import ModelSpec

from .train_config import NanoSDTrainConfig, parse_config  # noqa: F401  (the config's public home)

STAGES = ("block", "search", "vae", "align")


def train_nanosd(spec: ModelSpec, config: dict[str, Any], teacher_pipe: Any = None, progress: bool = True) -> Path:
    """The ``train_model`` hook: run the requested stages (``all``: every one, skipping those done).

    Every file the run writes appears complete or not at all (``zoo.atomic``): a killed run
    resumes from what it finished and leaves no partial file behind once it runs again.
    """
    from zoo import atomic
    from zoo.distill import run_stages

    from .train_run import Run, check_data
    from .train_search import stage_search
    from .train_stages import stage_align, stage_block, stage_vae

    cfg = parse_config(config)
    check_data(spec, cfg)
    run = Run(spec, cfg, teacher_pipe=teacher_pipe, progress=progress)
    todo = STAGES if cfg.stage == "all" else (cfg.stage,)
    stages = {"block": lambda: stage_block(run), "search": lambda: stage_search(run),  # block: every rank (sharded)
              "vae": lambda: stage_vae(run), "align": lambda: stage_align(run)}
    run_stages(run.out, todo, stages, resume=cfg.resume, state=run.state, sharded=("block",))
    if run.state.is_main_process:
        atomic.write_text(run.out / "config.json", cfg.model_dump_json(indent=1, by_alias=True))
    return run.out
