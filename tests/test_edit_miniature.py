"""EDiT on the trained mini-pixart (benchmarks/edit_miniature.py prints the numbers): converted and
distilled, it moves toward the teacher (teacher-aligned noise error, Fréchet distance and pixel error to the
teacher's own images of the same seeds all fall) and keeps the teacher's digit prompt accuracy within 10
points. The quick test runs a short distillation (default run); the slow one runs the benchmark's defaults
and also holds the distilled model's FD to real digits near the teacher's (guided teacher samples as
task-loss data once put it 12 points above)."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest


def _bench():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        return importlib.import_module("edit_miniature")
    finally:
        sys.path.pop(0)


def _check_moves_toward_teacher(result):
    for stage in result["stages"]:
        assert stage["aligned_mse_after"] < stage["aligned_mse_before"], stage
    rows = result["rows"]
    conv, dist, teacher = rows["converted, before distillation"], rows["distilled (EDiT)"], rows["teacher"]
    assert dist["pixel_mse_to_teacher"] < conv["pixel_mse_to_teacher"], rows
    assert dist["frechet_to_teacher"] < conv["frechet_to_teacher"], rows
    assert dist["prompt_accuracy"] >= teacher["prompt_accuracy"] - 0.10, rows
    return rows


def test_short_distillation_moves_toward_the_teacher():
    _check_moves_toward_teacher(_bench().main(
        ["--steps", "40", "--resolutions", "32", "--samples", "32", "--batch-size", "8", "--per-digit", "4",
         "--seeds", "1234", "--sample-steps", "8"]))


@pytest.mark.slow
def test_miniature_distillation_keeps_quality():
    rows = _check_moves_toward_teacher(_bench().main([]))
    assert rows["distilled (EDiT)"]["frechet"] <= rows["teacher"]["frechet"] + 6.0, rows
