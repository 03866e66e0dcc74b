"""Attention-map reuse (arXiv 2401.01008) as the zoo technique ``attention-reuse``, with the
HURRY and PHAST policies, for the zoo's UNets and transformers.

    pipe = zoo.load("mini-sd", techniques={"attention-reuse": {"policy": "hurry", "reuse": 10}})
    zoo_attnreuse.controller_of(pipe).peak_bytes     # memory of the cached maps in the last run
    zoo_attnreuse.remove(pipe)                       # the original attention processors again
    zoo train mini-sd --recipe phast --config phast.yaml   # search a PHAST schedule (stored as JSON)

Importing it imports no torch or diffusers: they load inside the functions that use them.
"""
from __future__ import annotations

from zoo import Choice, PaperRef, TechniqueSpec, hookimpl

from .controller import Controller, apply, controller_of, remove
from .phast import neighbours, phast_schedule, search
from .processor import ReuseAttnProcessor, attention_map
from .schedules import hurry, load_schedule, parse_config

__all__ = ["apply", "remove", "controller_of", "Controller", "ReuseAttnProcessor", "attention_map", "hurry",
           "load_schedule", "parse_config", "search", "neighbours", "phast_schedule"]

PAPER = PaperRef(
    title="Fast Sampling Through The Reuse Of Attention Maps In Diffusion Models", arxiv="2401.01008", year=2024,
    authors="Rosco Hunter, Łukasz Dudziak, Mohamed S. Abdelfattah, Abhinav Mehrotra, Sourav Bhattacharya, Hongkai Wen",
)

CHOICES = {
    "processor": Choice(
        value="a diffusers attention processor: stock kernel on compute steps; the explicit softmax map formed only "
              "on the compute step before a layer's reuse steps; out = cached map x fresh V on reuse steps",
        why="SDPA hides the map; forming it only where a later step needs it keeps every other step exactly stock"),
    "caching_output": Choice(
        value="sdpa",
        why="on the step that caches a map, its output still comes from the stock kernel, so everything before the "
            "first reuse step is bit-identical to the stock pipeline; 'map' uses out = A V (one QK^T less, "
            "float-rounding different)"),
    "mask": Choice(value="per-layer x per-step: a global schedule plus fnmatch overrides per attention layer",
                   why="the paper sets one schedule for all layers; overrides allow per-layer studies"),
    "attention": Choice(value="both", why="the paper reuses every map; 'cross' keeps the cache small (77 keys, "
                                          "not 4096) and 'self' is for ablations"),
    "reuse": Choice(value="half the denoiser calls (T // 2)", why="the paper's main comparison: 10 of 20 DDIM steps"),
    "step_counter": Choice(
        value="one step per denoiser call; a run starts when the scheduler gets new timesteps",
        why="follows any diffusers sampler without a pipeline callback (CFG is batched into one call)"),
    "phast_search": Choice(
        value="R fixed; moves: one reuse step shifted +-1, then swapped with any compute step; first improvement; "
              "objective mean PSNR (Y) vs full compute on 20 calibration conditions; stop at a local optimum or "
              "200 evaluations",
        why="the paper describes a greedy search without these details"),
    "schedule_store": Choice(value="one JSON per (model, sampler, denoiser calls, R), shipped or installed by "
                                   "`zoo train ID --recipe phast`",
                             why="a schedule is only valid for the model and sampler it was searched on"),
}

@hookimpl
def register_techniques(register):
    register(TechniqueSpec(
        id="attention-reuse", paper=PAPER, choices=CHOICES, recipes=["phast"],
        summary="Reuse attention maps on late sampling steps (HURRY, or a searched PHAST schedule): "
                "skips Q/K projections and softmax there, training-free.",
        applies_to=["sd15", "nanosd", "pixart-sigma", "dit", "mini", "edgedit", "instruct-pix2pix", "sd-x4-upscaler"],
    ))


@hookimpl
def apply_technique(technique, spec, model, config):
    apply(model, config, model_id=spec.id)
    return model


@hookimpl
def train_technique(technique, spec, config):
    from .phast import run_recipe

    return run_recipe(spec, config)
