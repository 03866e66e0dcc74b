"""A pushed repo's card is right for what was pushed: where the weights are, a quickstart that
loads that repo (zoo and plain diffusers), random weights said and no base_model declared; and
every card names its licence link, the techniques that apply and any code the authors released."""
from __future__ import annotations

import pytest

import zoo
from zoo import PaperRef, TechniqueSpec
from zoo.cards import render_card, validate_card
from zoo.cards.render import Pushed

REPO = "someone/nanosd-s-trained"


def _card(model_id: str, pushed=None) -> tuple[str, object]:
    text = str(render_card(zoo.get_spec(model_id), records=[], pushed=pushed))
    return text, validate_card(text)


def test_pushed_trained_repo_card_points_at_that_repo():
    text, meta = _card("nanosd-s", Pushed(repo=REPO, code_files=("unet/zoo_nanosd_unet.py",)))
    assert f"[`{REPO}`](https://huggingface.co/{REPO}) (this repo)" in text
    assert "not published yet" not in text and "No weights published" not in text
    assert f'zoo.load("hf-hub:{REPO}")' in text
    assert f'DiffusionPipeline.from_pretrained("{REPO}", trust_remote_code=True, use_safetensors=True)' in text
    assert meta.base_model == zoo.get_spec("nanosd-s").base_model  # trained weights derive from SD1.5
    assert "random" not in " ".join(meta.tags) and "Random weights" not in text


def test_random_init_push_says_so_and_declares_no_base_model():
    text, meta = _card("nanosd-s", Pushed(repo=REPO, random_init=True, code_files=("unet/zoo_nanosd_unet.py",)))
    assert meta.base_model is None and "random-weights" in meta.tags
    assert "**Random weights.**" in text and "**random initialisation**" in text
    assert f'zoo.load("hf-hub:{REPO}")' in text


def test_push_without_shipped_code_says_plain_diffusers_needs_the_zoo():
    text, _ = _card("nanosd-s", Pushed(folder="/data/nanosd-s"))
    assert 'zoo.load("local-dir:/data/nanosd-s")' in text and "this folder" in text
    assert "trust_remote_code" not in text and "pip install ondevice-diffusion-zoo" in text


def test_unpublished_spec_card_builds_random_and_says_weights_are_unpublished():
    text, _ = _card("nanosd-s")
    assert 'zoo.load("nanosd-s", pretrained=False)' in text and "not published yet" in text
    assert "The paper released no code or weights" in text


def test_other_licence_carries_its_link():
    text, meta = _card("sd35-medium")
    assert meta.license == "other" and meta.license_name and meta.license_link.startswith("https://")
    assert f"]({meta.license_link})" in text
    with pytest.raises(zoo.ZooError, match="license_link"):
        validate_card("---\nlibrary_name: diffusers\npipeline_tag: text-to-image\nlicense: other\n"
                      "license_name: x\ntags: [x]\n---\n# t\n")


def test_card_lists_applicable_techniques_and_released_code(fresh_registry):
    reg = zoo.get_registry()
    reg.add_technique(TechniqueSpec(id="card-test-technique", summary="a technique for NanoSD only",
                                    applies_to=["nanosd"]), plugin="nanosd")
    text, _ = _card("nanosd-s")
    assert "## Techniques that apply" in text and "`card-test-technique` | a technique for NanoSD only" in text
    assert "card-test-technique" not in _card("sd15")[0]
    spec = zoo.get_spec("nanosd-s").model_copy(update={"paper": PaperRef(
        title="T", code_url="https://github.com/authors/code", weights_url="https://huggingface.co/authors/w")})
    text = str(render_card(spec, records=[]))
    assert "The authors released code ([https://github.com/authors/code]" in text and "weights ([https://huggingface.co/authors/w]" in text
    assert "released no code" not in text
