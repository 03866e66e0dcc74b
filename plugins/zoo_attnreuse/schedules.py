"""Reuse schedules: which denoiser calls reuse the attention maps, per layer.

A schedule is a set of reuse-step indices in ``1..T-1`` (step 0 must compute: nothing is
cached yet). Policies (arXiv 2401.01008): ``hurry`` reuses the last k steps; ``phast`` is a
searched schedule stored as JSON per (model, sampler, steps, reuse count); ``steps`` names the
indices; ``none`` computes everything. The technique's options are validated here.
"""
from __future__ import annotations

import json
import os
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from zoo import ZooError

SHIPPED = Path(__file__).parent / "schedules"


class LayerSchedule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    policy: Literal["none", "hurry", "phast", "steps"] = "hurry"
    reuse: Optional[int] = Field(None, ge=0, description="hurry: k; phast: R of the stored schedule (default T//2)")
    steps: list[int] = Field(default_factory=list, description="reuse-step indices for policy 'steps'")


class ReuseConfig(LayerSchedule):
    """Options of the ``attention-reuse`` technique: a global schedule plus per-layer overrides."""

    layers: dict[str, LayerSchedule] = Field(
        default_factory=dict, description="fnmatch pattern over attention-layer names -> schedule (first match wins)")
    attention: Literal["self", "cross", "both"] = "both"
    caching_output: Literal["sdpa", "map"] = "sdpa"
    schedule_file: Optional[str] = None

    def for_layer(self, name: str) -> LayerSchedule:
        for pattern, sched in self.layers.items():
            if fnmatchcase(name, pattern):
                return sched
        return self


def parse_config(config: dict) -> ReuseConfig:
    try:
        return ReuseConfig(**(config or {}))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise ZooError(f"attention-reuse option {where!r}: {err['msg']} "
                       "(options: policy, reuse, steps, layers, attention, caching_output, schedule_file)") from None


def hurry(total: int, k: int) -> list[int]:
    """HURRY(k): reuse in the last k of ``total`` denoiser calls."""
    if not 0 <= k <= total - 1:
        raise ZooError(f"HURRY reuse count {k} must be between 0 and {total - 1} for {total} steps (step 0 computes)")
    return list(range(total - k, total))


def check_steps(steps: list[int], total: int) -> list[int]:
    bad = [s for s in steps if not 1 <= s <= total - 1]
    if bad:
        raise ZooError(f"reuse steps {bad} are outside 1..{total - 1} for {total} denoiser calls (step 0 must compute)")
    return sorted(set(steps))


def reuse_steps(sched: LayerSchedule, total: int, model: str, sampler: str, schedule_file: Optional[str] = None) -> list[int]:
    """The reuse-step indices of ``sched`` for a run of ``total`` denoiser calls."""
    if sched.policy == "none":
        return []
    if sched.policy == "steps":
        return check_steps(sched.steps, total)
    k = total // 2 if sched.reuse is None else sched.reuse
    if sched.policy == "hurry":
        return hurry(total, k)
    return check_steps(load_schedule(model, sampler, total, k, schedule_file)["reuse_steps"], total)


# -- PHAST schedules as data -----------------------------------------------------------------
def schedule_name(model: str, sampler: str, total: int, reuse: int) -> str:
    return f"{model}--{sampler}--{total}steps--r{reuse}.json"


def user_store() -> Path:
    """Where `zoo train ID --recipe phast` installs schedules (beside the zoo's local models folder)."""
    models = os.environ.get("ZOO_MODELS_DIR", str(Path.home() / ".cache" / "ondevice-zoo" / "models"))
    return Path(models).parent / "schedules" / "attention-reuse"


def load_schedule(model: str, sampler: str, total: int, reuse: int, schedule_file: Optional[str] = None) -> dict:
    name = schedule_name(model, sampler, total, reuse)
    candidates = [Path(schedule_file)] if schedule_file else [user_store() / name, SHIPPED / name]
    for path in candidates:
        if path.is_file():
            data = json.loads(path.read_text())
            key = (data.get("model"), data.get("sampler"), data.get("steps"), data.get("reuse_count"))
            if key != (model, sampler, total, reuse):
                raise ZooError(f"{path} is a schedule for {key}, not for ({model}, {sampler}, {total}, {reuse})")
            return data
    raise ZooError(f"no PHAST schedule for {model} with {sampler}, {total} steps, {reuse} reuse steps; "
                   f"search one with: zoo train {model} --recipe phast --config phast.yaml "
                   f"(steps: {total}, reuse: {reuse}), or use policy 'hurry'")


def save_schedule(data: dict, folder: Path) -> Path:
    """Write one schedule JSON into ``folder`` atomically (temp sibling + rename)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / schedule_name(data["model"], data["sampler"], data["steps"], data["reuse_count"])
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)
    return path
