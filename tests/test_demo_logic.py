"""The demo's pieces that need no server: image-mode conversion, input checks, the card panel,
Space folders (validated with huggingface_hub's SpaceCard and packaging) and the CLI wiring."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import zoo
from zoo.demo import common

REPO = Path(__file__).resolve().parents[1]


# -- image modes -----------------------------------------------------------------------------
def test_rgba_is_composited_over_white_not_its_hidden_colour():
    a = np.zeros((4, 4, 4), np.uint8)
    a[..., 0] = 200  # red hidden under full transparency on the left half...
    a[:, 2:, 3] = 255  # ...opaque red on the right half
    out = np.asarray(common.to_rgb(Image.fromarray(a, "RGBA")))
    assert out.shape == (4, 4, 3)
    assert (out[:, :2] == 255).all()  # transparent -> white
    assert (out[:, 2:] == [200, 0, 0]).all()


@pytest.mark.parametrize("value16,expected8", [(0, 0), (65535, 255), (32896, 128), (1000, 4)])
def test_16bit_grayscale_is_rescaled_not_clipped(tmp_path, value16, expected8):
    p = tmp_path / "g16.png"
    Image.fromarray(np.full((5, 7), value16, np.uint16)).save(p)  # a real 16-bit PNG on disk
    img = Image.open(p)
    assert img.mode in ("I;16", "I")
    out = np.asarray(common.to_rgb(img))
    assert out.shape == (5, 7, 3) and out.dtype == np.uint8
    assert (out == expected8).all(), (img.mode, out[0, 0])


def test_grayscale_and_palette_become_rgb():
    g = Image.fromarray(np.full((3, 3), 77, np.uint8), "L")
    assert (np.asarray(common.to_rgb(g)) == 77).all()
    p = Image.new("P", (3, 3), 1)
    p.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    assert (np.asarray(common.to_rgb(p)) == [10, 20, 30]).all()


def test_too_large_image_is_refused_before_decoding(tmp_path):
    p = tmp_path / "big.png"
    Image.new("RGB", (300, 200), "white").save(p)
    with pytest.raises(common.DemoInputError, match=r"300×200 = 60,000 pixels.*at most 10,000"):
        common.open_image(str(p), max_pixels=10_000)
    assert common.open_image(str(p), max_pixels=60_000).size == (300, 200)
    with pytest.raises(common.DemoInputError, match="upload an image"):
        common.open_image(None, 100)
    bad = tmp_path / "not-an-image.png"
    bad.write_text("hello")
    with pytest.raises(common.DemoInputError, match="Cannot read"):
        common.open_image(str(bad), 100)


def test_fit_side_keeps_aspect_on_a_multiple():
    img = Image.new("RGB", (300, 200))
    assert common.fit_side(img, 64, 8).size == (64, 40)
    assert common.fit_side(img, 512, 64).size == (512, 320)


# -- other inputs ----------------------------------------------------------------------------
def test_prompt_seed_steps_checks():
    with pytest.raises(common.DemoInputError, match="empty"):
        common.check_prompt("   ")
    assert common.check_prompt("", required=False) == ""
    assert common.check_prompt("  a fox ") == "a fox"
    with pytest.raises(common.DemoInputError, match="Seed"):
        common.check_seed(-1)
    with pytest.raises(common.DemoInputError, match="Seed"):
        common.check_seed("abc")
    assert common.check_seed(7.0) == 7
    with pytest.raises(common.DemoInputError, match="Steps"):
        common.check_steps(0)


def test_size_limits_follow_the_spec():
    from zoo.demo import image_editing, super_resolution, text_to_image

    assert text_to_image.size_limits("sd15-tiny")[1] == zoo.get_spec("sd15-tiny").resolution == 64
    assert text_to_image.size_limits("sd15") == (256, 512, 64)
    with pytest.raises(common.DemoInputError, match="outside what sd15-tiny supports"):
        text_to_image.check_size("sd15-tiny", 512, 512)
    assert super_resolution.scale_of("sd-x4-upscaler-tiny") == 4
    assert super_resolution.max_input_pixels("sd-x4-upscaler-tiny") == 32 * 32
    assert super_resolution.max_input_pixels("sd-x4-upscaler") == 256 * 256
    with pytest.raises(common.DemoInputError, match="outside"):
        image_editing.check_side("instruct-pix2pix-tiny", 512)


def test_model_choices_are_the_registered_models_of_the_task():
    from zoo.demo.ui import model_choices

    models, default = model_choices("text-to-image", None, None)
    assert set(models) == set(zoo.list_models(task="text-to-image"))
    assert default == "mini-sd"  # no full-size weights here: the proving ground's miniature, whose weights ship
    assert model_choices("text-to-image", None, "sd15")[1] == "sd15"
    assert model_choices("text-to-image", ["sd15", "sd15-tiny"], None)[1] == "sd15-tiny"  # no weights: a -tiny
    with pytest.raises(zoo.ZooError, match="image-editing model"):
        model_choices("text-to-image", ["instruct-pix2pix-tiny"], None)
    with pytest.raises(zoo.UnknownModelError, match="Did you mean"):
        model_choices("text-to-image", ["sd15-tinyy"], None)


def test_missing_weights_message_says_how_to_get_them(hf_cache):
    with pytest.raises(common.DemoInputError, match=r"zoo fetch sd15") as err:
        common.load_pipeline("sd15")
    assert "Traceback" not in str(err.value)


def test_card_shows_summary_paper_and_figures():
    from zoo.demo.card import card_markdown

    md = card_markdown("nanosd-s", measured={"latency (this run)": 1.234})
    spec = zoo.get_spec("nanosd-s")
    assert spec.summary in md and "arxiv.org/abs/2601.09823" in md
    assert "| paper | unet_params_m | 170 |" in md  # spec.reported, rounded for display
    assert "| this run | latency (this run) | 1.23 s |" in md


# -- Spaces ----------------------------------------------------------------------------------
def _validate_space(folder: Path, model_id: str | None = None) -> dict:
    from huggingface_hub import SpaceCard
    from packaging.requirements import Requirement

    import gradio

    card = SpaceCard.load(folder / "README.md")
    meta = card.data.to_dict()
    assert meta["sdk"] == "gradio" and meta["sdk_version"] == gradio.__version__
    assert (folder / meta["app_file"]).is_file()
    assert 0 < len(meta["short_description"]) <= 60
    assert meta["suggested_hardware"]
    reqs = [ln for ln in (folder / "requirements.txt").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    assert reqs
    for ln in reqs:
        Requirement(ln)  # raises InvalidRequirement on a bad line
    app = (folder / "app.py").read_text()
    compile(app, str(folder / "app.py"), "exec")
    if model_id:
        assert f'default="{model_id}"' in app
    return meta


@pytest.mark.parametrize("task", ["text-to-image", "super-resolution", "image-editing", "class-conditional-generation"])
def test_committed_space_folders_validate(task):
    meta = _validate_space(REPO / "spaces" / task)
    assert task in meta["tags"]
    for entry in meta.get("preload_from_hub", []):
        repo = entry.split()[0]
        assert repo in meta["models"]


def test_zoo_space_writes_a_valid_folder_with_pinned_preload(tmp_path, monkeypatch):
    from zoo.cli import main
    from zoo.demo import space

    assert main(["space", "instruct-pix2pix", "--to", str(tmp_path / "s")]) == 0
    meta = _validate_space(tmp_path / "s", "instruct-pix2pix")
    assert meta["preload_from_hub"][0].startswith("timbrooks/instruct-pix2pix model_index.json,unet/config.json")
    # a spec with a pinned revision pins the preload to it
    pinned = zoo.get_spec("sd15").model_copy(update={"revision": "a" * 40})
    entry = space.preload_entry(pinned)
    repo, files, rev = entry.split(" ")
    assert repo == "stable-diffusion-v1-5/stable-diffusion-v1-5" and rev == "a" * 40
    assert "unet/diffusion_pytorch_model.safetensors" in files.split(",")
    assert space.preload_entry(zoo.get_spec("sd15-tiny")) is None  # no Hub repo: nothing to preload
    with pytest.raises(zoo.ZooError, match="not a valid requirement"):
        space.write_space("sd15-tiny", tmp_path / "bad", requirement="not a requirement !!")


def test_space_push_without_token_is_a_clear_error(monkeypatch, capsys):
    from zoo.cli import main

    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert main(["space", "sd15-tiny", "--push", "someone/zoo-demo"]) == 2
    assert "no Hugging Face token" in capsys.readouterr().err


def test_space_push_creates_a_gradio_space_and_uploads_the_folder(monkeypatch):
    """The Hub client is replaced at its boundary (no network here); what reaches it is checked."""
    import huggingface_hub

    from zoo.demo import space

    from helpers import fake_hf_api

    FakeApi, calls = fake_hf_api(on_upload=lambda folder: _validate_space(folder, "sd15-tiny"))
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    url = space.push_space("sd15-tiny", "someone/zoo-demo", token="hf_test")
    assert url.endswith("spaces/someone/zoo-demo")
    assert calls["create"] == ("someone/zoo-demo", {"repo_type": "space", "space_sdk": "gradio", "private": False,
                                                    "exist_ok": True})
    assert calls["upload"] == ("someone/zoo-demo", "space")
    assert calls["files"] == ["README.md", "app.py", "requirements.txt"]


# -- CLI -------------------------------------------------------------------------------------
def test_zoo_demo_launches_on_loopback_by_default(monkeypatch):
    """`zoo demo ID` builds the task app of ID and launches it on 127.0.0.1 without a share link."""
    import zoo.demo.app as app
    from zoo.cli import build_parser

    seen = {}
    monkeypatch.setattr(app, "build_app", lambda task, model_ids=None, default=None: seen.update(
        task=task, models=model_ids, default=default) or "DEMO")
    monkeypatch.setattr(app, "launch", lambda demo, host, port, share: seen.update(demo=demo, host=host, port=port,
                                                                                     share=share))
    args = build_parser().parse_args(["demo", "sd-x4-upscaler-tiny"])
    assert args.func(args) == 0
    assert seen == {"task": None, "models": None, "default": "sd-x4-upscaler-tiny", "demo": "DEMO",
                    "host": "127.0.0.1", "port": None, "share": False}
    args = build_parser().parse_args(["demo", "--task", "image-editing", "--port", "7999", "--share", "yes"])
    args.func(args)
    assert (seen["task"], seen["default"], seen["port"], seen["share"]) == ("image-editing", None, 7999, True)


def test_zoo_demo_of_a_class_conditional_model_builds_its_app(monkeypatch):
    import zoo.demo.app as app
    from zoo.cli import build_parser

    monkeypatch.setattr(app, "launch", lambda demo, **kw: None)
    built = []
    real = app.build_app
    monkeypatch.setattr(app, "build_app", lambda *a, **kw: built.append(real(*a, **kw)) or built[-1])
    args = build_parser().parse_args(["demo", "mini-dit-tiny"])
    assert args.func(args) == 0
    api = {fn.api_name for fn in built[0].fns.values()}
    assert "generate" in api and app.task_of("mini-dit-tiny") == "class-conditional-generation"
    assert build_parser().parse_args(["demo", "--task", "class-conditional-generation"]).task


def test_run_technique_help_example_is_a_real_option_set():
    """`zoo run --help` shows an example a user can paste: it parses and the technique accepts it."""
    import argparse
    import re

    from zoo.cli import build_parser
    from zoo.cli.run_cmd import technique_options

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    helptext = next(a.help for a in sub.choices["run"]._actions if a.dest == "technique")
    example = re.search(r"e\.g\. (\S+)", helptext).group(1)
    opts = technique_options([example])
    (tid, cfg), = opts.items()
    assert tid in zoo.list_techniques() and cfg
    pipe = zoo.load("sd15-tiny", pretrained=False, techniques=opts)
    assert pipe is not None


def test_zoo_demo_rejects_a_model_of_another_task(capsys):
    from zoo.cli import main

    assert main(["demo", "sd15-tiny", "--task", "super-resolution"]) == 2
    assert "text-to-image model, not super-resolution" in capsys.readouterr().err


def test_cli_listing_does_not_import_gradio():
    import subprocess
    import sys

    code = "import sys, zoo.cli; zoo.cli.build_parser(); print('gradio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_techniques_become_toggles_and_reach_zoo_load(monkeypatch):
    """No technique is registered yet; when one applies to a model it must show as a toggle and
    reach zoo.load(techniques=...). The registry answer and zoo.load are replaced at their boundary."""
    import zoo.loading
    from zoo.demo import ui

    monkeypatch.setattr(ui, "list_techniques", lambda mid: ["ec-sampling", "attention-reuse"] if mid == "sd15-tiny" else [])
    upd = ui.technique_update("sd15-tiny")
    assert upd["choices"] == ["ec-sampling", "attention-reuse"] and upd["visible"] is True
    assert ui.technique_update("sd15")["visible"] is False
    assert ui.technique_toggles("sd15-tiny").visible is True

    calls = []

    class Pipe:
        def set_progress_bar_config(self, **kw):
            pass

    def fake_load(model_id, pretrained=True, **kw):
        calls.append((model_id, pretrained, kw["techniques"]))
        return Pipe()

    monkeypatch.setattr(zoo.loading, "load", fake_load)
    cache = common.PipelineCache(size=1)
    first = cache.get("sd15-tiny", ["ec-sampling", "attention-reuse"])
    assert calls == [("sd15-tiny", True, ["attention-reuse", "ec-sampling"])]  # weights found: no random note
    assert first.random_weights is False and first.note == ""
    assert cache.get("sd15-tiny", ["attention-reuse", "ec-sampling"]).pipe is first.pipe  # cached: same key
    n = len(calls)
    cache.get("sd15-tiny")  # another technique set: loaded again, the LRU of 1 drops the first
    assert len(calls) == n + 1 and len(cache._items) == 1


def test_random_init_for_tiny_ids_and_on_request(monkeypatch):
    import zoo.loading

    calls = []

    class Pipe:
        def set_progress_bar_config(self, **kw):
            pass

    def fake_load(model_id, pretrained=True, **kw):
        calls.append((model_id, pretrained))
        if pretrained:
            raise zoo.WeightsNotFoundError(f"no weights for {model_id}")
        return Pipe()

    monkeypatch.setattr(zoo.loading, "load", fake_load)
    tiny = common.load_pipeline("sd15-tiny")  # tiny: falls back to random init, visibly
    assert calls == [("sd15-tiny", True), ("sd15-tiny", False)]
    assert tiny.random_weights and "random weights" in tiny.note and "tiny test variant" in tiny.note
    with pytest.raises(common.DemoInputError, match="zoo fetch sd15"):  # full size: no silent noise
        common.load_pipeline("sd15")
    monkeypatch.setenv("ZOO_DEMO_RANDOM_INIT", "1")
    calls.clear()
    assert common.load_pipeline("sd15").random_weights and calls == [("sd15", False)]


def test_every_task_with_a_registered_model_has_a_demo():
    """A new task (or a plugin's first model of one) must come with its app: `zoo demo ID` works for every model
    that is a pipeline (components are not)."""
    from zoo.demo import TASKS
    from zoo.demo.app import TASK_MODULES

    tasks = {zoo.get_spec(m).task for m in zoo.list_models()} - {"component"}
    assert tasks <= set(TASKS) == set(TASK_MODULES)


def test_every_app_model_exposes_its_pipeline_arguments():
    """Controls (guidance, negative prompt...) follow the pipeline's arguments: every model a
    task app lists must name its pipeline class, or its controls would silently vanish."""
    import zoo

    from zoo.demo import TASKS

    for task in TASKS:
        for mid in zoo.list_models("*", task=task):
            assert "num_inference_steps" in common.spec_params(mid), mid
    assert "guidance_scale" in common.spec_params("nanosd-tiny")
