"""The QUAD proving-ground script's plumbing on mini-edit-tiny (random weights: checks the
script runs end to end, the one ONNX graph matches each merged LoRA, and prints every row)."""
import json

import pytest
from fraqat_helpers import benchmark


@pytest.mark.slow
def test_quad_mini_plumbing(capsys, tmp_path):
    quad_mini = benchmark("quad_mini", needs="mini-edit-tiny")
    out = tmp_path / "quad.json"
    assert quad_mini.main(["--model", "mini-edit-tiny", "--random-init", "--steps", "2", "--batch", "2",
                           "--train-count", "8", "--test-count", "2", "--calibration-batches", "1", "--quiet",
                           "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert set(res["rows"]) == {"grayscale", "invert", "blur"} and res["anchor"] in res["rows"]
    assert all(r["onnx_parity_max_abs"] < 1e-4 for r in res["rows"].values())
    assert "anchor = " in capsys.readouterr().out
