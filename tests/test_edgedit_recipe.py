"""EdgeDiT's recipe in miniature on edgedit-tiny (random 6-block teacher): proxies distilled by
FwKD through zoo.distill, the multi-objective search over the 6-D relaxation with a per-block
cost table, and the end-to-end fine-tune; plumbing only (random weights), the evidence runs on
the proving ground's mini-dit (benchmarks/edgedit_miniature.py)."""
from __future__ import annotations

import json

import pytest
import torch

import zoo

CFG = {
    "teacher_pretrained": False, "device": "cpu", "student": "search",
    "dataset": {"n_samples": 20, "n_eval": 4, "teacher_steps": 2},
    "capture": {"n_batches": 3, "batch_size": 4},
    "blocks": {"steps": 12, "lr": 1e-3, "checkpoint_every": 12, "log_every": 4},
    "search": {"n_trials": 6, "n_startup_trials": 3},
    "latency_repeats": 1, "eval_batches": 1, "eval_batch_size": 4,
    "finetune": {"steps": 4, "lr": 1e-4, "batch_size": 4, "checkpoint_every": 4},
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from zoo_edgedit.train import train_edgedit

    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("edgedit") / "run"
    return train_edgedit(zoo.get_spec("edgedit-tiny"), {**CFG, "out_dir": str(out)}, progress=False)


def test_proxies_are_distilled_through_the_engine(run_dir):
    from zoo_edgedit.space import proxies

    summary = json.loads((run_dir / "blocks" / "summary.json").read_text())
    assert len(summary) == len(proxies(6)) == 3 + 12  # 3 merge proxies + 2 width proxies per block
    assert any(k.startswith("pairs.0--merge") for k in summary)
    for name in summary:
        done = json.loads((run_dir / "blocks" / name / "done.json").read_text())
        assert done["steps"] == 12
    # FwKD learns: the merge proxy's feature loss falls (it starts as the pair's first block alone)
    losses = json.loads((run_dir / "blocks" / "pairs.0--merge" / "done.json").read_text())["losses"]
    assert sum(losses[-4:]) < sum(losses[:4])


def test_search_returns_a_front_over_error_and_latency(run_dir):
    found = json.loads((run_dir / "search" / "search.json").read_text())
    assert found["objectives"] == ["fidelity", "latency_ms"]
    assert found["pareto"] and len(found["evaluated"]) >= 2
    table = json.loads((run_dir / "search" / "cost_table.json").read_text())
    assert table["latency"] == "cpu" and {"full", "half-mlp", "narrow-attn", "narrow", "rest"} <= set(table["table"])
    assert (run_dir / "search" / "pareto.png").is_file()


def test_finetuned_student_is_a_dit_pipeline(run_dir):
    from diffusers import DiTPipeline

    report = json.loads((run_dir / "report.json").read_text())
    for k in ("error_teacher_init_blocks", "error_distilled", "error_finetuned"):
        assert report[k] >= 0
    pipe = DiTPipeline.from_pretrained(str(run_dir / "pipeline"))
    assert type(pipe.transformer).__name__ == "EdgeDiTTransformer2DModel"
    out = pipe(class_labels=[3], num_inference_steps=2, guidance_scale=1.0, output_type="np")
    assert out.images.shape == (1, 64, 64, 3)


def test_finished_stages_refuse_without_resume(run_dir):
    from zoo_edgedit.train import train_edgedit

    with pytest.raises(zoo.ZooError, match="--resume"):
        train_edgedit(zoo.get_spec("edgedit-tiny"), {**CFG, "out_dir": str(run_dir), "stage": "search"}, progress=False)


def test_proxies_shard_across_processes():
    from zoo.distill import Candidate, shard
    from zoo_edgedit.space import proxies

    cands = [Candidate(s, c, lambda: None, weight=2.0 if c == "merge" else 1.0) for s, c in proxies(28)]
    ranks = shard(cands, 8)
    assert sum(len(r) for r in ranks) == 70 and all(r for r in ranks)


def test_aihub_latency_refuses_without_a_token(tmp_path, monkeypatch):
    from zoo_edgedit.costs import cost_table
    from zoo_edgedit.specs import NARROW_TINY, TEACHER_TINY

    monkeypatch.setenv("QAIHUB_CLIENT_INI", str(tmp_path / "missing.ini"))
    with pytest.raises(zoo.ZooError, match="AI Hub API token"):
        cost_table(TEACHER_TINY, NARROW_TINY, latency="aihub")


def test_bad_config_is_one_clear_error(tmp_path):
    from zoo_edgedit.train import parse_config

    with pytest.raises(zoo.ZooError, match="latency"):
        parse_config({"latency": "none"})  # the default search cost is latency
    with pytest.raises(zoo.ZooError, match="invalid EdgeDiT training config"):
        parse_config({"stage": "vae"})
