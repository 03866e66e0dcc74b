"""The recipe's search stage: Bayesian optimisation over the stage options, with the
teacher-aligned noise-prediction error or the paper's taFID as fidelity and params, MACs or
host-CPU latency as cost; and the choice of the student to align from its Pareto set."""
from __future__ import annotations

import json
import time
from typing import Any

from zoo import ZooError

from .tafid import TaFID
from .train_run import Run


def stage_search(run: Run) -> dict[str, Any]:
    from zoo.distill import search_architectures

    from .choices import ORIGINAL
    from .stage_costs import combination_cost, stage_option_costs

    cfg = run.cfg
    fidelity = TaFID(run) if cfg.search_fidelity == "tafid" else run.noise_error
    lat = (cfg.resolution or run.spec.resolution) // run.pipe.vae_scale_factor
    costs = stage_option_costs(dict(run.teacher_l.config), latent=lat,
                               text_len=run.data["ehs"].shape[1])

    def evaluate(arch: dict[str, str]) -> dict[str, float]:
        choices = [arch[n] for n in run.stage_names]
        unet = run.student(choices)
        c = combination_cost(costs, choices)
        m = {"fidelity": fidelity(unet), "params": float(c["params"]), "macs": float(c["macs"])}
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
