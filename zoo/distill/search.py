"""Bayesian architecture search over one choice per stage.

Each stage's choice is relaxed to x_i in [0,1] and rounded to a bin (``SearchSpace.from_unit``);
optuna's GPSampler fits Gaussian-process surrogates (Matern-5/2, ARD) and maximises
log expected hypervolume improvement for two objectives, or constrained log EI for
"minimise cost subject to fidelity <= epsilon". The study lives in a journal file, so a search
interrupted half way goes on where it stopped; each architecture is evaluated once (rounding
maps many points to one architecture: repeats are answered from a cache).

Fidelity and cost are callables the caller provides (teacher-aligned error of the assembled
student; params, MACs or measured latency); both are minimised.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

from .. import atomic  # marker/summary files: complete or absent (resume reads them)
from ..errors import ZooError
from ..evaluate.pareto import pareto_front
from .config import SearchConfig
from .stages import SearchSpace


@dataclass
class Evaluated:
    arch: dict[str, str]
    metrics: dict[str, float]
    feasible: bool = True
    trials: list[int] = field(default_factory=list)


@dataclass
class SearchResult:
    evaluated: list[Evaluated]
    pareto: list[Evaluated]
    best: Optional[Evaluated]  # constrained mode: cheapest feasible architecture
    json_path: Optional[Path] = None
    png_path: Optional[Path] = None


def search_architectures(
    space: SearchSpace | Mapping[str, Sequence[str]],
    evaluate: Callable[[dict[str, str]], Mapping[str, float]],
    cfg: SearchConfig,
    *,
    initial: Sequence[Mapping[str, str]] = (),
    progress: bool = True,
    resume: bool = True,
) -> SearchResult:
    """Search ``space``; ``evaluate(arch)`` returns metrics holding ``cfg.fidelity`` and ``cfg.cost``.

    ``initial`` architectures are evaluated first (e.g. the teacher's and the cheapest one, so the
    constrained mode starts from a feasible point). Writes ``search.json`` and ``pareto.png`` to
    ``cfg.out_dir``.
    """
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    from tqdm.auto import tqdm

    if not isinstance(space, SearchSpace):
        space = SearchSpace.from_mapping(space)
    out = Path(cfg.out_dir)
    atomic.make_dirs(out)  # a working folder (resume): each file in it is written atomically
    journal = out / "study.journal"
    if journal.exists() and not resume:
        raise ZooError(f"{out} holds an earlier search; pass --resume to continue it or choose another --out")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    cache: dict[tuple[str, ...], Evaluated] = {}
    cache_file = out / "evaluated.jsonl"
    records: list[str] = []  # one JSON line per architecture, as evaluated
    if cache_file.exists() and resume:
        records = cache_file.read_text().splitlines()
        for line in records:
            e = Evaluated(**json.loads(line))
            cache[space.arch(e.arch)] = e

    constrained = cfg.mode == "constrained"
    # optuna >= 5 takes constraints from Trial.set_constraint; older ones need constraints_func
    legacy = constrained and not hasattr(optuna.trial.Trial, "set_constraint")
    ckw = {"constraints_func": lambda t: [t.user_attrs["constraint"]]} if legacy else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if cfg.sampler == "gp":
            sampler = optuna.samplers.GPSampler(seed=cfg.seed, n_startup_trials=cfg.n_startup_trials,
                                                deterministic_objective=True, **ckw)
        else:
            sampler = optuna.samplers.TPESampler(seed=cfg.seed, n_startup_trials=cfg.n_startup_trials, **ckw)
    study = optuna.create_study(
        study_name="arch-search", storage=JournalStorage(JournalFileBackend(str(journal))), sampler=sampler,
        load_if_exists=True, directions=None if constrained else ["minimize", "minimize"],
        direction="minimize" if constrained else None,
    )
    done = len([t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE])
    if done == 0:
        for a in initial:
            arch = space.arch(a)
            study.enqueue_trial({f"x{i}": v for i, v in enumerate(space.to_unit(arch))})

    def objective(trial) -> Any:
        x = [trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(len(space.stages))]
        arch = space.from_unit(x)
        if arch not in cache:
            metrics = {k: float(v) for k, v in evaluate(dict(zip(space.stages, arch))).items()}
            for k in (cfg.fidelity, cfg.cost):
                if k not in metrics:
                    raise ZooError(f"evaluate() returned no {k!r} metric (got {sorted(metrics)})")
            feasible = not constrained or metrics[cfg.fidelity] <= cfg.epsilon
            cache[arch] = Evaluated(dict(zip(space.stages, arch)), metrics, feasible)
            records.append(json.dumps(asdict(cache[arch])))
            atomic.write_text(cache_file, "\n".join(records) + "\n")  # rewritten whole: a kill never tears a line
        e = cache[arch]
        e.trials.append(trial.number)
        trial.set_user_attr("arch", list(arch))
        if constrained:  # feasible when <= 0
            trial.set_user_attr("constraint", e.metrics[cfg.fidelity] - cfg.epsilon)
            if not legacy:
                trial.set_constraint(cfg.fidelity, e.metrics[cfg.fidelity] - cfg.epsilon)
            return e.metrics[cfg.cost]
        return e.metrics[cfg.fidelity], e.metrics[cfg.cost]

    todo = max(0, cfg.n_trials - done)
    with tqdm(total=cfg.n_trials, initial=done, desc=f"architecture search ({cfg.mode})", disable=not progress,
              dynamic_ncols=True) as bar:
        def tick(study, trial):
            bar.update(1)
            bar.set_postfix(evaluated=len(cache))

        if todo:
            study.optimize(objective, n_trials=todo, callbacks=[tick])
    return _result(list(cache.values()), cfg, out)


def _result(evaluated: list[Evaluated], cfg: SearchConfig, out: Path) -> SearchResult:
    feasible = [e for e in evaluated if e.feasible]
    pts = [(e.metrics[cfg.fidelity], e.metrics[cfg.cost]) for e in feasible]
    pareto = sorted((feasible[i] for i in pareto_front(pts)), key=lambda e: e.metrics[cfg.cost])
    best = None
    if cfg.mode == "constrained" and feasible:
        best = min(feasible, key=lambda e: (e.metrics[cfg.cost], e.metrics[cfg.fidelity]))
    res = SearchResult(evaluated, pareto, best)
    res.json_path = out / "search.json"
    atomic.write_text(res.json_path, json.dumps({
        "config": json.loads(cfg.model_dump_json()),
        "objectives": [cfg.fidelity, cfg.cost],
        "pareto": [asdict(e) for e in pareto],
        "best": asdict(best) if best else None,
        "evaluated": [asdict(e) for e in evaluated],
    }, indent=1))
    res.png_path = plot_front(res, cfg, out / "pareto.png")
    return res


def plot_front(res: SearchResult, cfg: SearchConfig, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=120)
    for feas, style in ((True, dict(c="tab:blue", alpha=0.5)), (False, dict(c="tab:gray", alpha=0.4, marker="x"))):
        es = [e for e in res.evaluated if e.feasible is feas]
        if es:
            ax.scatter([e.metrics[cfg.cost] for e in es], [e.metrics[cfg.fidelity] for e in es], s=16,
                       label="evaluated" if feas else "infeasible", **style)
    if res.pareto:
        ax.step([e.metrics[cfg.cost] for e in res.pareto], [e.metrics[cfg.fidelity] for e in res.pareto],
                where="post", c="tab:red", marker="o", label="Pareto set")
    if cfg.mode == "constrained":
        ax.axhline(cfg.epsilon, c="k", ls="--", lw=1, label=f"epsilon = {cfg.epsilon:g}")
        if res.best:
            ax.scatter([res.best.metrics[cfg.cost]], [res.best.metrics[cfg.fidelity]], s=120, facecolors="none",
                       edgecolors="k", label="chosen")
    ax.set_xlabel(cfg.cost)
    ax.set_ylabel(f"{cfg.fidelity} (lower is better)")
    ax.set_title(f"architecture search: {len(res.evaluated)} architectures, {len(res.pareto)} Pareto")
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic.write_file(path) as tmp:
        fig.savefig(tmp, format=Path(path).suffix.lstrip(".") or "png")
    plt.close(fig)
    return path
