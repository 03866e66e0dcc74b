"""PHAST: greedy search of the reuse steps (arXiv 2401.01008), and the `zoo train --recipe phast`
recipe that runs it and stores the schedule as data.

Start from HURRY(R); a move swaps one reuse step with a compute step, the +-1 shifts first,
then the farther swaps; a move is kept when it raises the mean PSNR of the reuse output against
the full-compute output on the calibration conditions (first improvement, then the
neighbourhood is searched again). The search stops at a local optimum (no move improves) or
at the evaluation budget. The reuse count R stays fixed.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Iterator, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from zoo import ZooError

from .schedules import hurry, save_schedule, user_store

Steps = tuple[int, ...]


def neighbours(current: Steps, total: int) -> Iterator[Steps]:
    """Schedules one move away: each reuse step shifted +-1, then swapped with every other compute step
    (step 0 always computes)."""
    cur = set(current)
    free = [c for c in range(1, total) if c not in cur]
    seen: set[Steps] = set()
    for near in (True, False):
        for r in current:
            for c in free:
                if (abs(c - r) == 1) != near:
                    continue
                cand = tuple(sorted(cur - {r} | {c}))
                if cand not in seen:
                    seen.add(cand)
                    yield cand


def search(score: Callable[[Steps], float], total: int, reuse: int, max_evals: int = 200,
           progress: bool = True) -> dict:
    """Greedy first-improvement search from HURRY(reuse). ``score`` maps reuse steps to mean PSNR."""
    from tqdm.auto import tqdm

    memo: dict[Steps, float] = {}
    bar = tqdm(total=max_evals, desc="PHAST search", unit="eval", disable=not progress)

    def evaluate(steps: Steps) -> float:
        if steps not in memo:
            memo[steps] = float(score(steps))
            bar.update(1)
        return memo[steps]

    start = tuple(hurry(total, reuse))
    current, best = start, evaluate(start)
    moves, local_optimum = [], False
    try:
        while True:
            improved = False
            for cand in neighbours(current, total):
                if len(memo) >= max_evals and cand not in memo:
                    break
                s = evaluate(cand)
                if s > best:
                    moves.append({"from": list(current), "to": list(cand), "psnr": s})
                    current, best, improved = cand, s, True
                    bar.set_postfix(psnr=f"{best:.2f}")
                    break
            else:
                local_optimum = not improved
            if not improved:
                break
    finally:
        bar.close()
    return {"reuse_steps": list(current), "psnr": best, "hurry_steps": list(start), "hurry_psnr": memo[start],
            "evaluations": len(memo), "local_optimum": local_optimum, "moves": moves}


class PhastRecipe(BaseModel):
    """Options of `zoo train ID --recipe phast` (a YAML/JSON file via --config, or keys set by the CLI)."""

    model_config = ConfigDict(extra="ignore")  # the CLI adds keys other recipes use (stage, data, ...)
    recipe: Literal["phast"] = "phast"
    out_dir: str = "runs/phast"
    steps: int = Field(20, ge=2, description="num_inference_steps (the paper: DDIM 20)")
    reuse: Optional[int] = Field(None, ge=1, description="R, reuse steps (default: half the denoiser calls)")
    sampler: Optional[str] = Field(None, description="diffusers scheduler class (default: the pipeline's)")
    prompts: Optional[list[Union[str, int]]] = None
    num_prompts: int = Field(20, ge=1, description="calibration conditions when prompts is not given (the spec: 20-50)")
    seed: int = 0
    guidance_scale: Optional[float] = None
    size: Optional[int] = None
    max_evals: int = Field(200, ge=1)
    attention: Literal["self", "cross", "both"] = "both"
    caching_output: Literal["sdpa", "map"] = "sdpa"
    teacher_pretrained: bool = True
    weights: Optional[str] = None
    install: bool = Field(True, description="also install the schedule where the technique finds it")
    progress: bool = True


def parse_recipe(config: dict) -> PhastRecipe:
    try:
        return PhastRecipe(**config)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ZooError(f"phast recipe option {'.'.join(map(str, err['loc']))!r}: {err['msg']}") from None


def phast_schedule(pipe: Any, model_id: str, conds: list, *, steps: int, reuse: Optional[int] = None, seed: int = 0,
                   max_evals: int = 200, attention: str = "both", caching_output: str = "sdpa", progress: bool = True,
                   **render_kw: Any) -> dict:
    """Search a PHAST schedule for ``pipe`` (its current sampler) on ``conds``; returns the schedule
    record stored as JSON (reuse steps, PSNRs of PHAST and HURRY, search trace)."""
    from . import harness
    from .controller import apply
    from .schedules import ReuseConfig

    total = harness.denoiser_calls(pipe, steps)
    reuse = total // 2 if reuse is None else reuse
    hurry(total, reuse)  # validates R before any rendering
    t0 = time.perf_counter()
    reference = harness.render(pipe, conds, seed, steps, **render_kw)
    ctrl = apply(pipe, {"policy": "none", "attention": attention, "caching_output": caching_output}, model_id)

    def score(reuse_steps: Steps) -> float:
        ctrl.cfg = ReuseConfig(policy="steps", steps=list(reuse_steps), attention=attention, caching_output=caching_output)
        return harness.mean_psnr(harness.render(pipe, conds, seed, steps, **render_kw), reference)

    try:
        found = search(score, total, reuse, max_evals, progress)
    finally:
        ctrl.remove()
    return {
        "technique": "attention-reuse", "policy": "phast", "model": model_id, "sampler": type(pipe.scheduler).__name__,
        "steps": total, "num_inference_steps": steps, "reuse_count": reuse, **found,
        "denoiser_sha256": harness.denoiser_fingerprint(pipe),
        "calibration": {"conditions": list(conds), "seed": seed, **render_kw, "attention": attention,
                        "caching_output": caching_output},
        "search_seconds": round(time.perf_counter() - t0, 1),
    }


def run_recipe(spec: Any, config: dict) -> Path:
    """Search a PHAST schedule for ``spec`` and write it (JSON) to out_dir (and the user store)."""
    import zoo

    from . import harness

    rc = parse_recipe(config)
    conds = rc.prompts or harness.conditions(spec, rc.num_prompts)
    pipe = zoo.load(spec.id, pretrained=rc.teacher_pretrained, weights=rc.weights)
    harness.use_sampler(pipe, rc.sampler)
    pipe.set_progress_bar_config(disable=True)
    kw: dict[str, Any] = {"size": rc.size or spec.resolution}
    if rc.guidance_scale is not None:
        kw["guidance_scale"] = rc.guidance_scale
    data = phast_schedule(pipe, spec.id, conds, steps=rc.steps, reuse=rc.reuse, seed=rc.seed, max_evals=rc.max_evals,
                          attention=rc.attention, caching_output=rc.caching_output, progress=rc.progress, **kw)
    data["calibration"]["pretrained"] = rc.teacher_pretrained
    path = save_schedule(data, Path(rc.out_dir))
    if rc.install:
        save_schedule(data, user_store())
    print(f"PHAST {spec.id} {data['sampler']} T={data['steps']} R={data['reuse_count']}: reuse steps "
          f"{data['reuse_steps']} PSNR {data['psnr']:.2f} dB (HURRY {data['hurry_psnr']:.2f} dB), "
          f"{data['evaluations']} evaluations, {'local optimum' if data['local_optimum'] else 'budget reached'} -> {path}")
    return Path(rc.out_dir)
