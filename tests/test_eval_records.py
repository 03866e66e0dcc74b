"""Evaluation records: storage, markdown table, model-index entries."""
import math

import pytest

from zoo import ZooError
from zoo.evaluate.records import (
    load_records,
    make_record,
    records_table_markdown,
    records_to_model_index,
    save_records,
)


def _recs():
    return [
        make_record("demo-s", "cost", "params", 170e6, unit="count", component="unet", backend="count"),
        make_record("demo-s", "sr", "psnr_y", 24.29, unit="dB", dataset="zoo-photos", backend="torch"),
        make_record("demo-s", "sr", "psnr_y", math.inf, unit="dB", dataset="self", backend="torch"),
    ]


def test_save_load_roundtrip_and_merge(tmp_path):
    files = save_records(_recs(), tmp_path)
    assert files == [tmp_path / "demo-s.json"]
    assert len(load_records("demo-s", tmp_path)) == 3
    newer = make_record("demo-s", "sr", "psnr_y", 25.0, unit="dB", dataset="zoo-photos", backend="torch")
    save_records([newer], tmp_path)  # same measurement: replaces, does not duplicate
    recs = load_records("demo-s", tmp_path)
    assert len(recs) == 3
    assert [r["value"] for r in recs if r["dataset"] == "zoo-photos"] == [25.0]
    assert load_records("other", tmp_path) == []


def test_env_results_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_RESULTS_DIR", str(tmp_path))
    save_records(_recs()[:1])
    assert (tmp_path / "demo-s.json").exists()
    assert load_records("demo-s")[0]["metric"] == "params"


def test_invalid_records_are_refused(tmp_path):
    with pytest.raises(ZooError, match="not a valid evaluation record"):
        save_records([{"model_id": "x", "metric": "m"}], tmp_path)
    (tmp_path / "bad.json").write_text("{oops")
    with pytest.raises(ZooError, match="not valid JSON"):
        load_records(path=tmp_path / "bad.json")


def test_markdown_table():
    md = records_table_markdown(_recs())
    lines = md.strip().splitlines()
    assert lines[0].startswith("| Suite | Metric | Value |")
    assert len(lines) == 2 + 3
    assert "170.00M" in md and "24.29 dB" in md and "inf dB" in md and "Parameters (unet)" in md
    assert "_No evaluation results yet._" in records_table_markdown([])


def test_model_index_entries():
    from huggingface_hub import EvalResult, ModelCardData

    results = records_to_model_index(_recs(), task_type="text-to-image")
    assert all(isinstance(r, EvalResult) for r in results)
    assert results[1].metric_type == "psnr_y" and results[1].metric_value == 24.29
    assert results[1].dataset_name == "zoo-photos"
    card = ModelCardData(model_name="demo-s", eval_results=results)
    assert "model-index" in card.to_yaml()


def test_default_eval_writes_to_user_data_dir_never_the_source_tree(tmp_path, monkeypatch, capsys):
    """Following the README (`zoo eval ID`) must not touch the repo's results/ (the cards render it)."""
    from pathlib import Path

    from zoo.cli import main

    root = Path(__file__).resolve().parents[1]
    monkeypatch.delenv("ZOO_RESULTS_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert main(["doctor"]) in (0, 1)
    assert f"zoo eval results     {tmp_path / 'data' / 'ondevice-diffusion-zoo' / 'results'}" in capsys.readouterr().out
    assert main(["eval", "sd15-tiny", "--suite", "cost", "--meta"]) == 0
    saved = tmp_path / "data" / "ondevice-diffusion-zoo" / "results" / "sd15-tiny.json"
    assert saved.is_file() and f"records saved to {saved}" in capsys.readouterr().out
    for top in ("results", "zoo", "plugins", "cards"):
        assert not list((root / top).rglob("sd15-tiny.json")), f"zoo eval wrote into {top}/"
