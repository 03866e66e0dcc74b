"""The EC miniature benchmark runs end to end at a few steps on the shipped ec-mini weights (the full run,
and the retraining path --train-steps, is benchmarks/ec_miniature.py; the trainer itself is tested in test_ec.py)."""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

pytestmark = pytest.mark.filterwarnings("ignore")


def _bench(name):
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_miniature_runs_and_counts_calls(capsys):
    out = _bench("ec_miniature").main(["--per-op", "1", "--steps", "2", "--batch", "7"])  # shipped ec-mini weights
    printed = capsys.readouterr().out
    assert "ec-mini (EC, no guidance)" in printed and "wall-time ratio" in printed
    # UNet rows: 1 pass per edit per step for EC and for unguided mini-edit, 3 for CFG
    assert out["calls"] == {"ec": 7 * 2, "cfg": 3 * 7 * 2, "one": 7 * 2}
    assert all(math.isfinite(out["scores"][k]["psnr"]) for k in ("ec", "cfg", "identity"))
