"""The QUAD proving-ground script's plumbing on mini-edit-tiny (random weights: checks the
script runs end to end, the one ONNX graph matches each merged LoRA, and prints every row)."""
import json
import sys
from pathlib import Path

import pytest

import zoo


@pytest.mark.slow
def test_quad_mini_plumbing(capsys, tmp_path):
    if "mini-edit-tiny" not in zoo.list_models("mini-*"):
        pytest.skip("the proving ground's mini-edit-tiny is not registered in this checkout")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        import quad_mini
    finally:
        sys.path.pop(0)
    out = tmp_path / "quad.json"
    assert quad_mini.main(["--model", "mini-edit-tiny", "--random-init", "--steps", "2", "--batch", "2",
                           "--train-count", "8", "--test-count", "2", "--calibration-batches", "1", "--quiet",
                           "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert set(res["rows"]) == {"grayscale", "invert", "blur"} and res["anchor"] in res["rows"]
    assert all(r["onnx_parity_max_abs"] < 1e-4 for r in res["rows"].values())
    assert "anchor = " in capsys.readouterr().out
