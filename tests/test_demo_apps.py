"""The four task apps, launched on a free loopback port and driven through gradio_client and
a real headless Chromium (Playwright). Tiny models with random weights; offline."""
from __future__ import annotations

import os
import socket
import struct
import re
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ARTIFACTS = Path(__file__).resolve().parent / "_artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
TINY = {"text-to-image": "sd15-tiny", "super-resolution": "sd-x4-upscaler-tiny", "image-editing": "instruct-pix2pix-tiny",
        "class-conditional-generation": "mini-dit-tiny"}
NO_EXTRAS = [None, "(none)", None]  # image editing: task, compare with, mask


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(task: str):
    import zoo
    import zoo.demo

    if TINY[task] not in zoo.list_models(task=task):
        pytest.skip(f"{TINY[task]} is not registered yet")
    demo = zoo.demo.build_app(task)
    port = _free_port()
    zoo.demo.launch(demo, host="127.0.0.1", port=port, prevent_thread_lock=True, quiet=True)
    return demo, f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def apps():
    """task -> (url, gradio_client.Client, gr.Blocks); each app started once for the module and closed after."""
    from gradio_client import Client

    started, out = [], {}

    def get(task):
        if task not in out:
            demo, url = _launch(task)
            started.append(demo)
            out[task] = (url, Client(url, verbose=False), demo)
        return out[task]

    yield get
    for demo in started:
        demo.close()


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo-images")
    rng = np.random.default_rng(0)
    paths = {
        "rgb16": d / "rgb16.png", "rgb64": d / "rgb64.png", "rgba": d / "rgba.png",
        "gray": d / "gray.png", "gray16": d / "gray16.png", "huge": d / "huge.png",
    }
    Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(paths["rgb16"])
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(paths["rgb64"])
    Image.fromarray(rng.integers(0, 255, (16, 16, 4), dtype=np.uint8), "RGBA").save(paths["rgba"])
    Image.fromarray(rng.integers(0, 255, (16, 16), dtype=np.uint8), "L").save(paths["gray"])
    Image.fromarray(rng.integers(0, 65535, (16, 16), dtype=np.uint16)).save(paths["gray16"])
    Image.new("RGB", (4100, 4100), "white").save(paths["huge"])  # 16.8 MP, a few KB as PNG
    assert Image.open(paths["gray16"]).mode in ("I;16", "I")
    return paths


def _pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.mark.parametrize("model_id", ["sd15-tiny", "sd-x4-upscaler-tiny"])
def test_progress_is_reported_after_every_denoising_step(model_id):
    """callback_on_step_end (SD1.5) and the legacy callback (x4 upscaler) both drive the bar."""
    import zoo
    from zoo.demo import common

    pipe = zoo.load(model_id, pretrained=False)
    kw = {"prompt": "a fox", "num_inference_steps": 3}
    kw.update({"height": 32, "width": 32} if model_id == "sd15-tiny" else {"image": Image.new("RGB", (16, 16))})
    seen = []
    common.run(pipe, kw, 0, lambda done, total: seen.append((done, total)))
    total = seen[-1][1]
    assert total >= 3 and seen == [(i, total) for i in range(1, total + 1)]


# -- gradio_client ---------------------------------------------------------------------------
def test_text_to_image_size_and_seed(apps):
    _, c, _ = apps("text-to-image")
    args = ["sd15-tiny", "a red fox in the snow", "blurry", 2, 7.5]
    img, status, png, card = c.predict(*args, 64, 48, 123, [], api_name="/generate")
    assert Image.open(img).size == (64, 48)
    assert Image.open(png).format == "PNG" and Image.open(png).size == (64, 48)
    assert "random weights" in status and " s** " in status  # the note and the time taken
    assert "this run" in card
    again, *_ = c.predict(*args, 64, 48, 123, [], api_name="/generate")
    other, *_ = c.predict(*args, 64, 48, 124, [], api_name="/generate")
    assert np.array_equal(_pixels(img), _pixels(again))
    assert not np.array_equal(_pixels(img), _pixels(other))


def test_super_resolution_size_and_seed(apps, images):
    from gradio_client import handle_file

    _, c, _ = apps("super-resolution")
    args = ["sd-x4-upscaler-tiny", handle_file(str(images["rgb16"])), "", "", 2, 9.0, 20, 5, []]
    img, status, png, _ = c.predict(*args, api_name="/upscale")
    assert Image.open(img).size == (64, 64)  # x4
    again, *_ = c.predict(*args, api_name="/upscale")
    assert np.array_equal(_pixels(img), _pixels(again))


def test_super_resolution_preselected_miniature_upscales(apps, images):
    """The app's default model (a trained miniature, whose tile comes from a budget without a declared cost) upscales."""
    from gradio_client import handle_file

    url, c, demo = apps("super-resolution")
    default = next(b.value for b in demo.blocks.values() if getattr(b, "elem_id", None) == "model")
    img, *_ = c.predict(default, handle_file(str(images["rgb16"])), "", "", 1, 9.0, 20, 0, [], api_name="/upscale")
    assert Image.open(img).size == (64, 64)


def test_image_editing_size_and_seed(apps, images):
    from gradio_client import handle_file

    _, c, _ = apps("image-editing")
    args = ["instruct-pix2pix-tiny", handle_file(str(images["rgb64"])), "make it a watercolor", "", 2, 7.5, 1.5, 64, 9, [],
            *NO_EXTRAS]
    img, *_ = c.predict(*args, api_name="/edit")
    assert Image.open(img).size == (64, 64)
    again, *_ = c.predict(*args, api_name="/edit")
    assert np.array_equal(_pixels(img), _pixels(again))


@pytest.mark.parametrize("kind", ["rgba", "gray", "gray16"])
def test_odd_image_modes_are_accepted(apps, images, kind):
    from gradio_client import handle_file

    _, c, _ = apps("super-resolution")
    img, *_ = c.predict("sd-x4-upscaler-tiny", handle_file(str(images[kind])), "", "", 1, 9.0, 20, 0, [],
                        api_name="/upscale")
    assert Image.open(img).size == (64, 64) and Image.open(img).mode == "RGB"


def _error(c, *args, api_name):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as err:
        c.predict(*args, api_name=api_name)
    msg = str(err.value)
    assert "Traceback" not in msg
    return msg


def test_bad_inputs_get_clear_messages(apps, images, hf_cache):
    from gradio_client import handle_file

    _, t2i, _ = apps("text-to-image")
    assert "prompt: it is empty" in _error(t2i, "sd15-tiny", "   ", "", 2, 7.5, 64, 64, 0, [], api_name="/generate")
    msg = _error(t2i, "sd15", "a fox", "", 2, 7.5, 512, 512, 0, [], api_name="/generate")
    assert "No weights for sd15" in msg and "zoo fetch sd15" in msg
    assert "outside what sd15-tiny supports" in _error(t2i, "sd15-tiny", "a fox", "", 2, 7.5, 512, 512, 0, [],
                                                       api_name="/generate")
    _, sr, _ = apps("super-resolution")
    # above the untiled limit (1,024 pixels) inputs are tiled; above the tiled bound (16x) refused
    msg = _error(sr, "sd-x4-upscaler-tiny", handle_file(str(images["huge"])), "", "", 2, 9.0, 20, 0, [],
                 api_name="/upscale")
    assert "4100×4100 = 16,810,000 pixels; this model takes at most 16,384" in msg
    assert "upload an image" in _error(sr, "sd-x4-upscaler-tiny", None, "", "", 2, 9.0, 20, 0, [], api_name="/upscale")
    _, ed, _ = apps("image-editing")
    msg = _error(ed, "instruct-pix2pix-tiny", handle_file(str(images["huge"])), "make it red", "", 2, 7.5, 1.5, 64, 0,
                 [], *NO_EXTRAS, api_name="/edit")
    assert "4100×4100" in msg and "Downscale" in msg
    assert "prompt: it is empty" in _error(ed, "instruct-pix2pix-tiny", handle_file(str(images["rgb64"])), "", "", 2,
                                           7.5, 1.5, 64, 0, [], *NO_EXTRAS, api_name="/edit")


def test_queue_is_bounded_with_one_worker(apps, monkeypatch):
    import zoo.demo
    from zoo.demo.common import QUEUE_MAX_SIZE

    demo = apps("text-to-image")[2]
    assert demo._queue.max_size == QUEUE_MAX_SIZE and demo._queue.default_concurrency_limit == 1
    gen = next(fn for fn in demo.fns.values() if fn.api_name == "generate")
    assert gen.concurrency_limit == "default"  # i.e. the queue's default: one generation at a time
    monkeypatch.setenv("ZOO_DEMO_QUEUE", "3")
    assert zoo.demo.build_app("super-resolution")._queue.max_size == 3


# -- real browser ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


IMAGE_READY = """() => { const i = document.querySelector('#output-image img');
                         return !!i && i.complete && i.naturalWidth > 0; }"""


@pytest.mark.browser
@pytest.mark.parametrize("task", ["text-to-image", "super-resolution", "image-editing", "class-conditional-generation"])
def test_browser_fill_click_and_see_the_image(apps, browser, images, task):
    url, _, _ = apps(task)
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        page.goto(url, wait_until="domcontentloaded")
        page.locator("#model input").wait_for(timeout=30_000)
        prompt = page.locator("#prompt textarea")
        if prompt.is_visible():  # the preselected miniature SR model takes no prompt
            prompt.fill({"text-to-image": "a handwritten digit 7", "super-resolution": "a sharp photo",
                         "image-editing": "make it grayscale"}[task])
        if task in ("super-resolution", "image-editing"):
            page.locator("#input-image input[type=file]").set_input_files(
                str(images["rgb16"] if task == "super-resolution" else images["rgb64"]))
            page.locator("#input-image img").wait_for(timeout=15_000)  # the upload finished
        seed = page.locator("#seed input")
        before = seed.input_value()
        page.locator("#random-seed").click()
        page.wait_for_function("(v) => document.querySelector('#seed input').value !== v", arg=before, timeout=10_000)
        model = page.locator("#model input").input_value()
        t0 = time.perf_counter()
        page.locator("#run").click()
        page.wait_for_function(IMAGE_READY, timeout=90_000)
        seconds = time.perf_counter() - t0
        width = page.evaluate("() => document.querySelector('#output-image img').naturalWidth")
        assert width > 0
        # the preselected model is a proving-ground miniature (or a -tiny): the status says which
        page.locator("#status").get_by_text(re.compile("miniature|random weights")).wait_for(timeout=10_000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / f"demo-{task}.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"\n[browser] {task} ({model}): click -> image in {seconds:.2f} s; screenshot {shot}")
    finally:
        page.close()


# -- any upload (issue 9): the apps read uploads themselves ----------------------------------
def _png_header_only(path: Path, w: int, h: int) -> Path:
    """A PNG that claims w x h pixels (a few hundred bytes: PIL reads the size before any pixel)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="module")
def uploads(tmp_path_factory):
    d = tmp_path_factory.mktemp("uploads")
    rng = np.random.default_rng(1)
    tiny = d / "three.png"
    Image.fromarray(rng.integers(0, 255, (3, 3, 3), dtype=np.uint8)).save(tiny)
    text = d / "notes.txt"
    text.write_text("not an image\n")
    wide = d / "wide.png"  # above the tiny upscaler's untiled limit (32x32), within its tiled bound
    Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(wide)
    return {"huge": _png_header_only(d / "huge.png", 20000, 20000), "tiny": tiny, "text": text, "wide": wide}


CALLS = {  # task -> (api, model, arguments after the image)
    "super-resolution": ("/upscale", "sd-x4-upscaler-tiny", ["", "", 2, 9.0, 20, 0, []]),
    "image-editing": ("/edit", "instruct-pix2pix-tiny", ["make it red", "", 2, 7.5, 1.5, 64, 0, [], *NO_EXTRAS]),
}
EXPECTED = {"huge": "far too large to open", "text": "Cannot read the uploaded file as an image",
            "tiny": "is 3×3 pixels; this model needs at least 8×8"}


@pytest.mark.parametrize("task", list(CALLS))
def test_any_upload_gets_the_zoos_message(apps, uploads, task):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    _, c = apps(task)[:2]
    api, model, rest = CALLS[task]
    for kind, phrase in EXPECTED.items():
        with pytest.raises(AppError) as err:
            c.predict(model, handle_file(str(uploads[kind])), *rest, api_name=api)
        msg = str(err.value)
        assert phrase in msg, (kind, msg)
        assert "preprocess" not in msg and "/tmp" not in msg and "Traceback" not in msg, msg


def test_sr_above_the_untiled_limit_is_tiled(apps, uploads):
    from gradio_client import handle_file

    from zoo.demo.super_resolution import max_input_pixels, max_tiled_pixels

    assert max_input_pixels("sd-x4-upscaler-tiny") < 64 * 48 <= max_tiled_pixels("sd-x4-upscaler-tiny")
    _, c = apps("super-resolution")[:2]
    api, model, rest = CALLS["super-resolution"]
    img, status, *_ = c.predict(model, handle_file(str(uploads["wide"])), *rest, api_name=api)
    assert Image.open(img).size == (256, 192) and "256×192" in status


@pytest.mark.browser
def test_browser_tiled_upscale(apps, browser, uploads):
    url, _ = apps("super-resolution")[:2]
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        page.goto(url, wait_until="domcontentloaded")
        page.locator("#input-image input[type=file]").wait_for(state="attached", timeout=30_000)
        page.locator("#limits").get_by_text("in tiles").wait_for(timeout=15_000)
        page.locator("#input-image input[type=file]").set_input_files(str(uploads["wide"]))
        page.locator("#input-image img").wait_for(timeout=15_000)
        steps = page.locator("#steps input[type=number]")
        if steps.is_visible():  # a multi-step upscaler: 2 steps per tile keep the test short (a one-step one has none)
            steps.fill("2")
            steps.press("Enter")
        t0 = time.perf_counter()
        page.locator("#run").click()
        page.wait_for_function(IMAGE_READY, timeout=120_000)
        size = page.evaluate("() => { const i = document.querySelector('#output-image img');"
                             " return [i.naturalWidth, i.naturalHeight]; }")
        assert size == [256, 192]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "demo-super-resolution-tiled.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"\n[browser] tiled x4 upscale 64x48 -> 256x192 in {time.perf_counter() - t0:.2f} s; screenshot {shot}")
    finally:
        page.close()
