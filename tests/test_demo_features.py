"""Demo features driven by a pipeline's call signature, through gradio_client: two editors side by side
with their denoiser calls counted (EC vs CFG), MTU's task= picker, MobilePicasso's full-resolution
output, and the class-conditional app (DiTPipeline-style models). Tiny models; offline."""
from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

import zoo
from test_demo_apps import apps, browser, images  # noqa: F401 (module-scoped fixtures: one server per app)
from zoo.demo import common


def _passes(status: str) -> tuple[int, str]:
    m = re.search(r"denoiser: \*\*(\d+) passes\*\* \(([^)]*)\)", status)
    assert m, status
    return int(m.group(1)), m.group(2)


def _photo(path, w, h, seed=0):
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)).save(path)
    return str(path)


def test_guidance_free_beside_cfg_with_denoiser_calls_counted(apps, tmp_path):
    """EC (one pass per step) beside InstructPix2Pix-style CFG (three branches batched into each call), same
    input / instruction / seed / steps; the passes come from a forward hook on each denoiser."""
    from gradio_client import handle_file

    _, c, _ = apps("image-editing")
    photo = handle_file(_photo(tmp_path / "p.png", 48, 40))  # not square: EC's prompt map follows the photo's aspect
    args = ["mini-edit-tiny", photo, "make it red", "", 3, 7.5, 1.5, 32, 11, [], None, "ec-tiny", None]
    img, status, png, card, img2, status2 = c.predict(*args, api_name="/edit")
    assert Image.open(img).size == Image.open(img2).size == (32, 24)
    assert _passes(status) == (9, "3 calls × 3 batched branches")  # text + image guidance: 3 rows per call
    assert _passes(status2) == (3, "3 calls") and status2.startswith("`ec-tiny`")
    # without guidance the same CFG editor runs one branch: the count follows the run, not a formula
    unguided = c.predict("mini-edit-tiny", photo, "make it red", "", 3, 1.0, 1.0, 32, 11, [], None, "(none)", None,
                         api_name="/edit")[1]
    assert _passes(unguided) == (3, "3 calls")
    again = c.predict(*args, api_name="/edit")
    assert np.array_equal(np.asarray(Image.open(img2)), np.asarray(Image.open(again[4])))  # same seed, same edit
    alone = c.predict(*args[:-2], "(none)", None, api_name="/edit")
    assert alone[4] is None and alone[5] == ""


def test_editing_app_pairs_an_ec_model_with_a_cfg_editor_by_default():
    """On a fresh machine the preselected miniature editor (CFG) is compared with the guidance-free EC
    miniature trained from it; the pairing comes from the pipelines' arguments, not from model names."""
    import zoo.demo

    models = zoo.list_models(task="image-editing")
    demo = zoo.demo.build_app("image-editing")
    values = {b.elem_id: b.value for b in demo.blocks.values() if getattr(b, "elem_id", None) in ("model", "compare")}
    assert values == {"model": "mini-edit", "compare": "ec-mini"}
    assert "guidance_scale" in common.spec_params("mini-edit") and "guidance_scale" not in common.spec_params("ec-mini")
    assert common.compare_default(models, "ec-mini") == "mini-edit"
    assert common.compare_default(models, "ec-tiny") == "mini-edit-tiny"  # a -tiny beside a -tiny
    assert common.compare_default(models, "ec-sd15") is None  # no weights here for a full-size partner
    for mid in ("mtu-mini", "mobilepicasso-tiny"):  # a task picker / full-resolution output: not a guidance pair
        if mid in models:
            assert common.compare_default(models, mid) is None
    assert "mobilepicasso-tiny" not in {common.compare_default(models, m) for m in models}
    # sliders start at the model's recommended call arguments; beside a guidance-free model, with guidance on
    from zoo.demo.image_editing import settings

    rec = zoo.get_spec("mini-edit").config.get("call_kwargs", {})
    alone, paired = settings("mini-edit"), settings("mini-edit", paired=True)
    assert alone["num_inference_steps"] == paired["num_inference_steps"] == rec.get("num_inference_steps", 20)
    assert alone["guidance_scale"] == rec.get("guidance_scale", 7.5) and paired["guidance_scale"] > 1
    slider = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "guidance")
    assert slider.value == paired["guidance_scale"]


def test_compare_refuses_a_model_of_another_task(apps, images):
    from gradio_client import handle_file

    from test_demo_apps import _error
    from zoo.demo import image_editing

    _, c, _ = apps("image-editing")
    msg = _error(c, "mini-edit-tiny", handle_file(str(images["rgb64"])), "make it red", "", 2, 7.5, 1.5, 32, 0, [],
                 None, "sd15-tiny", None, api_name="/edit")
    assert "sd15-tiny is not in the list of choices" in msg  # the dropdown lists image-editing models only
    with pytest.raises(common.DemoInputError, match="only image-editing models can be compared"):
        image_editing.check_compare("mini-edit-tiny", "sd15-tiny")  # the handler's own check, for direct callers
    assert image_editing.check_compare("mini-edit-tiny", "(none)") is None


def test_task_picker_passes_task_to_the_pipeline(apps, tmp_path, monkeypatch):
    """A pipeline with a task= argument (MTU) gets a task picker with its declared values; the chosen
    task reaches the pipeline (inpaint without a mask is the pipeline's own refusal)."""
    from gradio_client import handle_file

    from test_demo_apps import _error

    mid = "mtu-mini"
    if mid not in zoo.list_models(task="image-editing"):
        pytest.skip(f"{mid} is not registered")
    tasks = common.declared_tasks(mid)
    assert {"edit", "sr", "inpaint"} <= set(tasks) and common.declared_tasks("mini-edit") == ()
    monkeypatch.setenv("ZOO_DEMO_RANDOM_INIT", "1")  # plumbing: the shipped weights are not what is tested
    common.cache().clear()
    try:
        _, c, _ = apps("image-editing")
        photo = handle_file(_photo(tmp_path / "p.png", 32, 32))
        mask = handle_file(_photo(tmp_path / "m.png", 32, 32, seed=1))
        base = [mid, photo, "make it black and white", "", 2, 7.5, 1.5, 32, 0, []]
        assert "is not one of mtu-mini's" in _error(c, *base, "colorize", "(none)", None, api_name="/edit")
        assert "mask_image" in _error(c, *base, "inpaint", "(none)", None, api_name="/edit")
        for task, m in (("edit", None), ("sr", None), ("inpaint", mask)):
            img, status, *_ = c.predict(*base, task, "(none)", m, api_name="/edit")
            assert Image.open(img).size == (32, 32), task
        assert "takes no mask" in _error(c, "mini-edit-tiny", photo, "make it red", "", 2, 7.5, 1.5, 32, 0, [], None,
                                         "(none)", mask, api_name="/edit")
    finally:
        common.cache().clear()


def test_text_to_image_app_runs_a_multi_task_pipeline_in_its_prompt_only_task(apps):
    """mtu-tiny starts in a conditioned task; the text-to-image app passes the declared task that needs no image."""
    if "mtu-tiny" not in zoo.list_models(task="text-to-image"):
        pytest.skip("mtu-tiny is not registered")
    assert common.prompt_only_task("mtu-tiny") == "t2i" and common.prompt_only_task("sd15-tiny") is None
    _, c, _ = apps("text-to-image")
    img, *_ = c.predict("mtu-tiny", "a fox", "", 2, 7.5, 64, 64, 0, [], api_name="/generate")
    assert Image.open(img).size == (64, 64)


def test_full_resolution_editor_returns_the_photo_at_its_own_size(apps, tmp_path):
    """A pipeline that takes output_size= (MobilePicasso) edits at its resolution and returns the upload's
    size, far above the model's own (the upload limit is the zoo's pixel limit, not the model's side)."""
    from gradio_client import handle_file

    mid = "mobilepicasso-tiny"
    assert common.full_resolution(mid) and not common.full_resolution("mini-edit-tiny")
    _, c, _ = apps("image-editing")
    photo = handle_file(_photo(tmp_path / "big.png", 320, 200))  # 5x the tiny editor's 64 px
    img, status, png, *_ = c.predict(mid, photo, "make it red", "", 2, 7.5, 1.5, 64, 0, [], None, "(none)", None,
                                     api_name="/edit")
    assert Image.open(img).size == Image.open(png).size == (320, 200) and "320×200" in status


# -- class-conditional (DiTPipeline-style) ---------------------------------------------------
def test_class_conditional_class_seed_and_steps(apps):
    _, c, _ = apps("class-conditional-generation")
    img, status, png, card = c.predict("mini-dit-tiny", 3, 2, 4.0, 7, [], api_name="/generate")
    assert Image.open(img).size == Image.open(png).size == (32, 32)
    assert _passes(status) == (4, "2 calls × 2 batched branches") and "this run" in card
    again = c.predict("mini-dit-tiny", 3, 2, 4.0, 7, [], api_name="/generate")[0]
    other = c.predict("mini-dit-tiny", 4, 2, 4.0, 7, [], api_name="/generate")[0]
    pixels = [np.asarray(Image.open(p)) for p in (img, again, other)]
    assert np.array_equal(pixels[0], pixels[1]) and not np.array_equal(pixels[0], pixels[2])
    edge = c.predict("edgedit-tiny", 3, 2, 1.0, 7, [], api_name="/generate")  # any registered DiT-style model
    assert Image.open(edge[0]).size == (64, 64) and _passes(edge[1]) == (2, "2 calls")


def test_class_conditional_bad_class_is_a_message(apps):
    from test_demo_apps import _error

    _, c, _ = apps("class-conditional-generation")
    assert "Class 10 is not one of mini-dit's: 0..9" in _error(c, "mini-dit", 10, 2, 4.0, 0, [], api_name="/generate")
    assert "class number" in _error(c, "mini-dit-tiny", "seven", 2, 4.0, 0, [], api_name="/generate")


def test_class_conditional_app_lists_every_class_conditional_model():
    import zoo.demo
    from zoo.demo import class_conditional as cc
    from zoo.demo.ui import model_choices

    models, default = model_choices("class-conditional-generation", None, None)
    assert default == "mini-dit" and {"dit-xl-2-256", "edgedit-1", "mini-dit-tiny"} <= set(models)
    assert cc.class_choices("mini-dit")[7] == ("7 · digit 7", 7) and cc.default_class("mini-dit") == 7
    assert len(cc.class_choices("dit-xl-2-256")) == 1000  # numbered from the label embedder's class count
    demo = zoo.demo.build_app(default="edgedit-tiny")
    picker = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "model")
    assert picker.value == "edgedit-tiny"


# -- the controls follow the selected pipeline (real browser) -------------------------------
@pytest.mark.browser
def test_browser_controls_follow_the_selected_pipeline(apps, browser):
    """Selecting an MTU model shows its task picker and mask upload; a full-resolution editor hides the
    size slider and says the photo comes back at its own size; the comparison follows the model."""
    url, _, _ = apps("image-editing")
    page = browser.new_page(viewport={"width": 1280, "height": 1000})

    def pick(mid):
        box = page.locator("#model input")
        box.click()
        box.fill(mid)
        page.get_by_role("option", name=mid, exact=True).click()

    try:
        page.goto(url, wait_until="domcontentloaded")
        page.locator("#model input").wait_for(timeout=30_000)
        page.wait_for_function("() => document.querySelector('#compare input').value === 'ec-mini'", timeout=15_000)
        assert not page.locator("#task").is_visible()
        if "mtu-mini" in zoo.list_models(task="image-editing"):
            pick("mtu-mini")
            page.locator("#task input").wait_for(state="visible", timeout=15_000)
            assert page.locator("#task input").input_value() == common.declared_tasks("mtu-mini")[0]
            page.locator("#mask-image").wait_for(state="visible", timeout=15_000)
        pick("mobilepicasso-tiny")
        page.locator("#limits").get_by_text("at its own resolution").wait_for(timeout=15_000)
        page.locator("#size").wait_for(state="hidden", timeout=15_000)
        assert not page.locator("#task").is_visible()
        pick("ec-tiny")
        page.wait_for_function("() => document.querySelector('#compare input').value === 'mini-edit-tiny'",
                               timeout=15_000)
        page.locator("#size").wait_for(state="visible", timeout=15_000)
    finally:
        page.close()
