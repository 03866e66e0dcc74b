"""Architecture search on a synthetic objective whose Pareto front is known by enumeration."""
from __future__ import annotations

import itertools
import json

import pytest

from zoo import ZooError
from zoo.distill import SearchConfig, SearchSpace, pareto_front, search_architectures, validate


# 4 stages x 4 options (256 architectures); option j drops more of the stage as j grows:
# cheaper, but a larger error, with stage-dependent weights so the front is not trivial.
SPACE = {f"s{i}": ["o0", "o1", "o2", "o3"] for i in range(4)}
COST_W = [4.0, 3.0, 2.0, 1.0]
ERR_W = [0.5, 1.0, 2.0, 4.0]


def metrics(arch: dict[str, str]) -> dict[str, float]:
    j = [int(arch[f"s{i}"][1]) for i in range(4)]
    return {"params": sum(w * (4 - x) for w, x in zip(COST_W, j)),
            "fidelity": sum(w * x * x for w, x in zip(ERR_W, j)) / 9}


ALL = [dict(zip(SPACE, a)) for a in itertools.product(*SPACE.values())]
TRUE_PTS = [(metrics(a)["fidelity"], metrics(a)["params"]) for a in ALL]
TRUE_FRONT = {TRUE_PTS[i] for i in pareto_front(TRUE_PTS)}


def hypervolume(points, ref=(30.0, 45.0)) -> float:
    pts = sorted(p for p in points if p[0] < ref[0] and p[1] < ref[1])
    hv, best_y = 0.0, ref[1]
    for x, y in pts:  # sweep by fidelity; each point adds the slab below the best cost so far
        if y < best_y:
            hv += (ref[0] - x) * (best_y - y)
            best_y = y
    return hv


def test_pareto_front_helper():
    assert pareto_front([(1, 3), (2, 2), (3, 1), (2, 3), (1, 3)]) == [0, 1, 2]


def test_multi_objective_search_finds_a_non_dominated_front(tmp_path):
    seen = []

    def evaluate(arch):
        seen.append(tuple(arch.values()))
        return metrics(arch)

    cfg = SearchConfig(n_trials=22, n_startup_trials=8, out_dir=tmp_path, seed=0)
    res = search_architectures(SPACE, evaluate, cfg, progress=False)
    assert len(seen) == len(set(seen)), "an architecture was evaluated twice"
    pts = [(e.metrics["fidelity"], e.metrics["params"]) for e in res.pareto]
    # non-dominated among themselves and against everything evaluated
    all_pts = [(e.metrics["fidelity"], e.metrics["params"]) for e in res.evaluated]
    for p in pts:
        assert not any(q[0] <= p[0] and q[1] <= p[1] and q != p for q in all_pts)
    on_true = sum(p in TRUE_FRONT for p in pts)
    hv, hv_true = hypervolume(pts), hypervolume(TRUE_FRONT)
    print(f"evaluated {len(res.evaluated)}/256 architectures; Pareto set {len(pts)} points, {on_true} on the "
          f"true front ({len(TRUE_FRONT)} points); hypervolume {hv:.1f} / {hv_true:.1f} = {hv / hv_true:.3f}")
    assert hv >= 0.9 * hv_true
    data = json.loads(res.json_path.read_text())
    assert len(data["pareto"]) == len(pts) and data["objectives"] == ["fidelity", "params"]
    assert res.png_path.stat().st_size > 5000


@pytest.mark.parametrize("sampler", ["gp", "tpe"])
def test_constrained_search_respects_epsilon(tmp_path, sampler):
    eps = 1.0
    cfg = SearchConfig(n_trials=24 if sampler == "gp" else 40, n_startup_trials=8, mode="constrained", epsilon=eps,
                       out_dir=tmp_path, seed=1, sampler=sampler)
    res = search_architectures(SPACE, metrics, cfg, initial=[{s: "o0" for s in SPACE}], progress=False)
    assert res.best is not None and res.best.metrics["fidelity"] <= eps
    assert all(e.metrics["fidelity"] <= eps for e in res.pareto)
    assert all(e.feasible == (e.metrics["fidelity"] <= eps) for e in res.evaluated)
    opt = min(m["params"] for m in map(metrics, ALL) if m["fidelity"] <= eps)
    print(f"constrained ({sampler}): best params {res.best.metrics['params']} (true optimum {opt}), "
          f"fidelity {res.best.metrics['fidelity']:.3f} <= {eps}")
    assert res.best.metrics["params"] <= opt * 1.15


def test_search_resumes_from_its_journal(tmp_path):
    calls = []

    def evaluate(arch):
        calls.append(arch)
        return metrics(arch)

    cfg = SearchConfig(n_trials=6, n_startup_trials=6, out_dir=tmp_path, sampler="tpe")
    search_architectures(SPACE, evaluate, cfg, progress=False)
    n = len(calls)
    res = search_architectures(SPACE, evaluate, cfg.model_copy(update={"n_trials": 10}), progress=False)
    assert len(calls) - n <= 4 and len(res.evaluated) == len(calls)
    with pytest.raises(ZooError, match="--resume"):
        search_architectures(SPACE, evaluate, cfg, resume=False, progress=False)


def test_bad_configs_and_spaces():
    with pytest.raises(ZooError, match="epsilon"):
        validate(SearchConfig, {"mode": "constrained"})
    with pytest.raises(ZooError, match="n_trials"):
        validate(SearchConfig, {"n_trials": 0})
    sp = SearchSpace.from_mapping(SPACE)
    assert sp.size == 256 and sp.from_unit([0.0, 0.3, 0.6, 1.0]) == ("o0", "o1", "o2", "o3")
    assert sp.from_unit(sp.to_unit(("o3", "o2", "o1", "o0"))) == ("o3", "o2", "o1", "o0")
    with pytest.raises(ZooError, match="no option"):
        sp.arch(["o0", "o0", "o0", "o9"])
