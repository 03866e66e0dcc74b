"""Model cards: rendered from specs with huggingface_hub, valid offline, and kept fresh in cards/."""
from pathlib import Path

import pytest

import zoo
from zoo.cards import render_card, validate_card
from zoo.errors import ZooError

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("model_id", zoo.list_models("*"))
def test_rendered_card_is_valid_and_fresh(model_id):
    spec = zoo.get_spec(model_id)
    text = str(render_card(spec)) + "\n"
    meta = validate_card(text)
    assert meta.pipeline_tag == spec.pipeline_tag and meta.library_name == "diffusers"
    assert f"zoo.load(\"{model_id}\"" in text
    for name in spec.choices:
        assert f"`{name}`" in text  # every zoo choice is disclosed
    stored = ROOT / "cards" / f"{model_id}.md"
    assert stored.exists(), f"cards/{model_id}.md missing: run `zoo card --all --write cards/`"
    assert stored.read_text() == text, f"cards/{model_id}.md is stale: run `zoo card --all --write cards/`"


def test_no_orphan_cards():
    ids = set(zoo.list_models("*"))
    orphans = [p.name for p in (ROOT / "cards").glob("*.md") if p.stem not in ids and p.name != "README.md"]
    assert not orphans, f"cards for unregistered models: {orphans}"


def test_eval_records_become_model_index():
    from zoo.evaluate.records import make_record

    spec = zoo.get_spec("sd15-tiny")
    recs = [make_record("sd15-tiny", "cost", "params", 1234.0, unit="", dataset="none", component="unet")]
    text = str(render_card(spec, records=recs))
    meta = validate_card(text)
    assert meta.model_index and meta.model_index[0].results[0].metrics[0].value == 1234.0
    assert "## Measured" in text


def test_invalid_metadata_is_rejected():
    bad = "---\nlibrary_name: diffusers\npipeline_tag: text-to-image\nlicense: not-a-licence\ntags: [x]\n---\n# t\n"
    with pytest.raises(ZooError, match="licence"):
        validate_card(bad)
    with pytest.raises(ZooError):
        validate_card("---\nlicense: mit\n---\n# no tags\n")
