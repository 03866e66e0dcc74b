"""EDiT on the trained mini-pixart (slow: several minutes on 2 CPU cores): converted and distilled, its
teacher-aligned error falls over training and its digit prompt accuracy stays within 10 points of the
teacher's. The numbers are printed by benchmarks/edit_miniature.py (this runs it with its defaults)."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_miniature_distillation_keeps_prompt_accuracy():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        bench = importlib.import_module("edit_miniature")
    finally:
        sys.path.pop(0)
    result = bench.main([])
    for stage in result["stages"]:
        assert stage["aligned_mse_after"] < stage["aligned_mse_before"], stage
    rows = result["rows"]
    assert rows["distilled (EDiT)"]["prompt_accuracy"] >= rows["teacher"]["prompt_accuracy"] - 0.10, rows
