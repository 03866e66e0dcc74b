"""Plumbing of benchmarks/edgedit_miniature.py on a random-init mini-dit with a few steps of
everything: convert, distil every proxy, search, fine-tune, sample digits, score them. The
evidence itself needs the trained mini-dit and is the benchmark's job."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

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
