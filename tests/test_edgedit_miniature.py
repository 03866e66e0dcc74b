"""benchmarks/edgedit_miniature.py: its plumbing on a random-init mini-dit with a few steps of
everything (convert, distil every proxy, search, fine-tune, sample digits, score them), and, as
a slow test, the evidence run on the proving ground's trained mini-dit."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "edgedit_miniature.py"


def _script():
    spec = importlib.util.spec_from_file_location("edgedit_miniature", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_miniature_plumbing_on_a_random_mini_dit(tmp_path):
    res = _script().main(["--random", "--quick", "--out", str(tmp_path / "mini")])
    assert res["random_teacher"] is True
    n_layers = len(res["arch"])
    assert len(res["proxies"]) == n_layers // 2 + 2 * n_layers  # merge per pair + 2 width proxies per block
    assert set(res["models"]) == {"teacher", "pruned, undistilled", "pruned, distilled", "distilled + fine-tuned"}
    for row in res["models"].values():
        assert 0.0 <= row["prompt_accuracy"] <= 1.0 and row["frechet"] >= 0.0
    # the picked student is pruned (within the budget), so it is smaller than the teacher
    assert res["models"]["pruned, distilled"]["macs"] < res["models"]["teacher"]["macs"]
    assert res["arch"] != ["full"] * n_layers
    saved = json.loads((tmp_path / "mini" / "miniature.json").read_text())
    assert saved["arch"] == res["arch"]


@pytest.mark.slow  # the evidence run: about 5 min on 2 CPU cores
def test_miniature_on_the_trained_mini_dit(tmp_path):
    """The issue's claims on the proving ground: proxies distilled from the trained teacher beat
    undistilled ones on teacher-aligned error, the search returns a front, and the picked student
    after fine-tuning keeps the teacher's digit prompt accuracy within 10 points."""
    res = _script().main(["--out", str(tmp_path / "mini")])
    assert res["random_teacher"] is False
    assert all(p["distilled"] < p["undistilled"] for p in res["proxies"].values())
    found = json.loads((tmp_path / "mini" / "search" / "search.json").read_text())
    assert found["pareto"]
    m = res["models"]
    assert m["distilled + fine-tuned"]["macs"] < 0.65 * m["teacher"]["macs"]
    assert m["distilled + fine-tuned"]["prompt_accuracy"] >= m["teacher"]["prompt_accuracy"] - 0.10
    assert m["pruned, distilled"]["error"] < m["pruned, undistilled"]["error"]
