"""The upstream teachers: tiny variants run their real pipelines end to end, full-size meta
builds have the parameter counts of the public checkpoints, listing imports no torch."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

import zoo

TEACHERS = ["sd15", "pixart-sigma", "sd35-medium", "dit-xl-2-256", "sd-x4-upscaler", "instruct-pix2pix"]


def _image(side: int):
    import numpy as np
    from PIL import Image

    return Image.fromarray((np.random.RandomState(0).rand(side, side, 3) * 255).astype("uint8"))


# Smallest call of each tiny pipeline: 2 steps at the tiny spec's resolution.
CALLS = {
    "sd15-tiny": lambda: dict(prompt="a red cube", height=64, width=64),
    "pixart-sigma-tiny": lambda: dict(prompt="a red cube", height=64, width=64, use_resolution_binning=False,
                                      max_sequence_length=16, clean_caption=False),
    "sd35-medium-tiny": lambda: dict(prompt="a red cube", height=64, width=64, max_sequence_length=16),
    "dit-xl-2-256-tiny": lambda: dict(class_labels=[207]),
    "sd-x4-upscaler-tiny": lambda: dict(prompt="a red cube", image=_image(16)),
    "instruct-pix2pix-tiny": lambda: dict(prompt="make it blue", image=_image(64)),
}


@pytest.mark.parametrize("model_id", sorted(CALLS))
def test_tiny_pipeline_runs_end_to_end(model_id):
    import numpy as np
    import torch

    spec = zoo.get_spec(model_id)
    pipe = zoo.build(model_id)
    assert zoo.spec_of(pipe) is spec
    assert type(pipe).__name__ == spec.config["pipeline_class"]
    pipe.set_progress_bar_config(disable=True)
    out = pipe(**CALLS[model_id](), num_inference_steps=2, output_type="np",
               generator=torch.Generator().manual_seed(0)).images
    assert out.shape == (1, spec.resolution, spec.resolution, 3)
    assert np.isfinite(out).all() and out.std() > 0


@pytest.mark.parametrize("model_id", sorted(CALLS))
def test_tiny_components_take_their_static_shapes(model_id):
    """Every ComponentSpec's static inputs drive its module (what export and cost eval rely on)."""
    import torch

    from zoo.components import component_modules

    pipe = zoo.build(model_id)
    mods = component_modules(pipe)
    assert set(mods) == {c.name for c in zoo.get_spec(model_id).components}
    for name, (module, inputs) in mods.items():
        with torch.no_grad():
            y = module(**inputs)
        assert torch.isfinite(y).all(), name
        if name in ("unet", "transformer"):
            first = next(iter(inputs.values()))
            assert y.shape[-2:] == first.shape[-2:], name


@pytest.mark.parametrize("model_id", sorted(CALLS))
def test_tiny_save_and_load_round_trip(model_id, tmp_path):
    """Diffusers layout + zoo_spec.json written and read back: same weights, same tokenisation."""
    import torch

    from zoo import hub

    pipe = zoo.build(model_id)
    pipe.save_pretrained(tmp_path, safe_serialization=True)
    (tmp_path / hub.SPEC_FILE).write_text(zoo.get_spec(model_id).model_dump_json())
    hub.write_manifest(tmp_path, model_id)
    back = zoo.load(f"local-dir:{tmp_path}")
    assert zoo.spec_of(back).id == model_id and type(back) is type(pipe)
    for name, comp in pipe.components.items():
        other = back.components[name]
        if isinstance(comp, torch.nn.Module):
            a, b = comp.state_dict(), other.state_dict()
            assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
        elif name.startswith("tokenizer"):
            assert comp("a red cube")["input_ids"] == other("a red cube")["input_ids"], name


def _tokenizer_ids() -> dict[str, int]:
    from zoo.building import make_clip_tokenizer, make_t5_tokenizer

    text = "".join(chr(i) for i in range(32, 127)) + " ünïcödé 漢字 🙂"
    return {
        "CLIPTokenizer": max(make_clip_tokenizer()(text)["input_ids"]),
        "T5TokenizerFast": max(make_t5_tokenizer()(text)["input_ids"]),
    }


def test_text_encoders_cover_generated_tokenizer_ids():
    """A random-init build pairs generated tokenizers with the encoders: every id must embed."""
    top = _tokenizer_ids()
    checked = 0
    for spec in (zoo.get_spec(i) for i in zoo.list_models()):
        comps = spec.config.get("components", {})
        for name, comp in comps.items():
            if comp.get("library") != "transformers" or comp.get("generated"):
                continue
            tok = comps[name.replace("text_encoder", "tokenizer")]
            if not tok.get("generated"):
                continue  # a model's own tokenizer (e.g. the proving ground's word vocabulary): its ids are its own
            # example_inputs draws ids from [0, 100) as well
            assert comp["config"]["vocab_size"] > max(top[tok["class"]], 99), (spec.id, name)
            checked += 1
    assert checked >= 10


EXPECTED_PARAMS_M = {  # measured on the stock diffusers/transformers classes, meta device
    ("sd15", "unet"): 859.52,  # upstream.md
    ("dit-xl-2-256", "transformer"): 749.83,  # upstream.md: 749.8M with per-block embedders
    ("pixart-sigma", "transformer"): 610.86,
    ("pixart-sigma", "text_encoder"): 4762.31,  # T5 v1.1 XXL encoder
    ("sd35-medium", "transformer"): 2243.17,
    ("sd35-medium", "text_encoder"): 123.65,
    ("sd35-medium", "text_encoder_2"): 694.66,
    ("sd35-medium", "vae"): 83.82,
    ("sd-x4-upscaler", "unet"): 473.40,
    ("sd-x4-upscaler", "vae"): 55.33,
    ("sd-x4-upscaler", "text_encoder"): 340.39,
    ("instruct-pix2pix", "unet"): 859.53,
}


@pytest.mark.parametrize("model_id", TEACHERS)
def test_full_size_meta_build_param_counts(model_id):
    import torch

    pipe = zoo.build(model_id, device="meta")
    for (mid, comp), expected in EXPECTED_PARAMS_M.items():
        if mid != model_id:
            continue
        module = getattr(pipe, comp)
        assert all(p.device.type == "meta" for p in module.parameters())
        n = sum(p.numel() for p in module.parameters()) / 1e6
        assert round(n, 2) == expected, (model_id, comp, n)
    assert isinstance(pipe.unet if hasattr(pipe, "unet") else pipe.transformer, torch.nn.Module)


@pytest.mark.slow
@pytest.mark.parametrize("model_id", TEACHERS)
def test_full_size_components_run_on_meta(model_id):
    """Static shapes of the full-size components are consistent (shape propagation on meta)."""
    from zoo.components import component_modules

    pipe = zoo.build(model_id, device="meta")
    for name, (module, inputs) in component_modules(pipe).items():
        out = module(**{k: v.to("meta") for k, v in inputs.items()})
        assert out.device.type == "meta", name


def test_specs_carry_hub_repo_licence_and_paper():
    for mid in TEACHERS:
        spec = zoo.get_spec(mid)
        assert spec.hub_repo and spec.hub_repo.count("/") == 1
        assert spec.paper and spec.paper.arxiv
        assert spec.license != "unknown"
        assert {"text_encoder", "vae_decoder", "vae_encoder"} & {c.name for c in spec.components}
        tiny = zoo.get_spec(f"{mid}-tiny")
        assert tiny.base_model == spec.hub_repo and tiny.license == spec.license and tiny.task == spec.task
        assert [c.name for c in tiny.components] == [c.name for c in spec.components]
        # the tiny variant keeps the teacher's classes
        full, small = spec.config["components"], tiny.config["components"]
        assert {k: v["class"] for k, v in full.items()} == {k: v["class"] for k, v in small.items()}
    assert zoo.get_spec("sd-x4-upscaler").task == "super-resolution"
    assert zoo.get_spec("instruct-pix2pix").task == "image-editing"
    assert zoo.get_spec("dit-xl-2-256").license == "cc-by-nc-4.0"


def test_listing_and_info_do_not_import_torch():
    ids = TEACHERS + [f"{m}-tiny" for m in TEACHERS]
    code = (
        "import sys, io, contextlib, json\n"
        "import zoo\n"
        "from zoo.cli import main\n"
        "ids = zoo.list_models()\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n"
        "    assert main(['list']) == 0\n"
        f"    for i in {ids!r}:\n"
        "        assert main(['info', i]) == 0\n"
        "        zoo.get_spec(i).model_dump_json()\n"
        "heavy = sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules)\n"
        "print(json.dumps({'ids': ids, 'heavy': heavy, 'out': buf.getvalue()}))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout.strip().splitlines()[-1])
    assert data["heavy"] == []
    assert set(ids) <= set(data["ids"])
    assert "stabilityai/stable-diffusion-3.5-medium" in data["out"] and "T5EncoderModel" in data["out"]
