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


class _FakeHub:
    """The qai_hub client replaced at its boundary: every block compiles and profiles, the
    latency grows with the ONNX file's size (so options differ)."""

    class Device:
        def __init__(self, name: str = "", os: str = "", attributes=()) -> None:
            self.name = name

    class _Job:
        def __init__(self, model, profile: bool) -> None:
            from pathlib import Path

            self.job_id, self.url, self.model = "j1", "https://aihub/j1", model
            self.size = Path(model).stat().st_size if not profile else model.size

        def wait(self, timeout=None):
            class S:
                success, code, message = True, "SUCCESS", ""
            return S()

        def get_target_model(self):
            return self

        def download_target_model(self, filename):
            open(filename, "wb").write(b"bin")
            return filename

        def download_profile(self):
            return {"execution_summary": {"estimated_inference_time": self.size // 10}}

    def __init__(self) -> None:
        self.compiled: list[str] = []

    def submit_compile_job(self, model, device, name, options):
        self.compiled.append(name)
        return self._Job(model, profile=False)

    def submit_inference_job(self, model, device, name, options="", profile=True, inputs=None):
        return self._Job(model, profile=True)


@pytest.mark.slow  # five ONNX exports
def test_aihub_latency_table_through_the_client_boundary():
    from zoo_edgedit.costs import arch_cost, cost_table
    from zoo_edgedit.specs import NARROW_TINY, TEACHER_TINY

    hub = _FakeHub()
    table = cost_table(TEACHER_TINY, NARROW_TINY, latency="aihub", client=hub, progress=False)
    assert sorted(hub.compiled) == sorted(f"edgedit-blocks-{n}" for n in ("full", "half-mlp", "narrow-attn", "narrow",
                                                                          "rest"))
    assert table["narrow"]["latency_ms"] < table["full"]["latency_ms"]
    full = arch_cost(table, ["full"] * 6, TEACHER_TINY, NARROW_TINY)
    assert full["latency_ms"] == pytest.approx(table["rest"]["latency_ms"] + 6 * table["full"]["latency_ms"])
