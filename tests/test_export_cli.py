"""`zoo export`: ONNX export of a registered tiny component, the --check lint and the
AI Hub dry run from the command line."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("onnxruntime")

from zoo.cli import main  # noqa: E402


def test_export_text_encoder_onnx(tmp_path, capsys):
    rc = main(["export", "sd15-tiny", "--random-init", "--component", "text_encoder", "--out", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "text_encoder: max abs" in out and "cosine" in out
    meta = json.loads((tmp_path / "sd15-tiny-onnx-fp32" / "metadata.json").read_text())
    assert meta["source"]["weights"] == "random-init" and meta["source"]["model_id"] == "sd15-tiny"
    # token ids cross the graph boundary as int32 (NPUs have no int64 kernels), parity kept
    assert meta["components"]["text_encoder"]["inputs"]["input_ids"] == {"shape": [1, 77], "dtype": "int32"}
    assert meta["components"]["text_encoder"]["parity"]["rel_max"] <= 1e-3


def test_unknown_component_is_a_clear_error(tmp_path, capsys):
    rc = main(["export", "sd15-tiny", "--random-init", "--component", "vae", "--out", str(tmp_path)])
    assert rc == 2 and "has no component(s) ['vae']" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_qnn_dry_run(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("QAIHUB_CLIENT_INI", str(tmp_path / "none.ini"))
    rc = main(["export", "sd15-tiny", "--target", "qnn", "--chipset", "qualcomm-snapdragon-8-elite", "--dry-run",
               "--out", str(tmp_path)])
    assert rc == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["artifact"].endswith("sd15-tiny-qnn-fp32-qualcomm-snapdragon-8-elite")
    assert set(plan["qai_hub"]["jobs"]) == {"text_encoder", "unet", "vae_decoder", "vae_encoder"}
    assert plan["qai_hub"]["jobs"]["unet"]["compile"]["device"] == {"attributes": "chipset:qualcomm-snapdragon-8-elite"}
