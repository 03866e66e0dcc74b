"""TOC-SR: full-size cost ratios on meta, the surrogate UNet, and the one-step SR pipeline (tiny)."""
import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from zoo import ZooError


def _image(h, w, seed=0):
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))


@pytest.fixture(scope="module")
def tiny():
    pipe = zoo.load("tocsr-x4-tiny", pretrained=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def test_x4_ratios_vs_teacher_at_full_size_on_meta():
    from zoo_tocsr.costs import unet_cost

    teacher = unet_cost(zoo.get_spec("tocsr-teacher").config["components"]["unet"]["config"])
    x4 = unet_cost(zoo.get_spec("tocsr-x4").config["components"]["unet"]["config"])
    assert teacher["params"] == pytest.approx(859.59e6, rel=1e-4)
    assert teacher["attention_macs"] > 0 and x4["attention_macs"] > 0  # attention counted
    assert teacher["params"] / x4["params"] == pytest.approx(6.6, rel=0.02)
    assert teacher["macs"] / x4["macs"] == pytest.approx(2.8, rel=0.02)
    assert x4["params"] == pytest.approx(130e6, rel=0.02)


def test_slot_table_adds_up_to_a_built_unet():
    from zoo_tocsr.configs import TINY_UNET
    from zoo_tocsr.costs import assemble, slot_table, unet_cost
    from zoo_tocsr.variants import TOCSR_X4, expand

    base, table = slot_table(TINY_UNET)
    sur = expand(TOCSR_X4)
    got, built = assemble(base, table, sur), unet_cost(TINY_UNET, sur)
    assert got["params"] == built["params"]
    assert got["macs"] == pytest.approx(built["macs"], rel=1e-9)


def test_surrogates_are_in_the_unet_and_round_trip(tmp_path, tiny):
    from zoo_tocsr import BottleneckResnet, TOCSRUNet

    unet = tiny.unet
    assert isinstance(unet.get_submodule("up_blocks.0.resnets.0"), BottleneckResnet)
    assert unet.get_submodule("down_blocks.0.resnets.0").__class__.__name__ == "ResnetBlock2D"  # E1.R = R
    unet.save_pretrained(tmp_path)
    back = TOCSRUNet.from_pretrained(tmp_path)
    assert back.config.surrogates == unet.config.surrogates
    x, e = torch.randn(1, 16, 8, 8), torch.randn(1, 3, unet.config.cross_attention_dim)
    with torch.no_grad():
        assert torch.equal(back(x, 10, e).sample, unet(x, 10, e).sample)


def test_bad_surrogate_is_one_line():
    from zoo_tocsr.configs import TINY_UNET
    from zoo_tocsr.unet import TOCSRUNet

    with pytest.raises(ZooError, match="takes one of"):
        TOCSRUNet(surrogates={"down_blocks.0.resnets.0": "A4"}, **TINY_UNET)
    with pytest.raises(ZooError, match="no slot"):
        TOCSRUNet(surrogates={"down_blocks.9.resnets.0": "R2"}, **TINY_UNET)


def test_one_step_x4_any_size_one_unet_call(tiny):
    calls = []
    h = tiny.unet.register_forward_hook(lambda *a: calls.append(1))
    try:
        out = tiny(_image(21, 30)).images[0]  # odd side: padded to the 2-px grid and cropped back
    finally:
        h.remove()
    assert out.size == (120, 84) and len(calls) == 1
    a = tiny(_image(21, 30), output_type="np").images
    b = tiny(_image(21, 30), output_type="np").images
    assert a.shape == (1, 84, 120, 3) and np.array_equal(a, b)


def test_large_input_is_tiled_one_call_per_tile(tiny):
    calls = []
    h = tiny.unet.register_forward_hook(lambda *a: calls.append(1))
    try:
        out = tiny(_image(40, 70), tile=16, context=4).images[0]
    finally:
        h.remove()
    assert out.size == (280, 160) and len(calls) == 3 * 5


@pytest.mark.parametrize("bad, match", [
    ("not an image", "PIL image"),
    (_image(4, 30), "at least"),
])
def test_bad_input_is_one_line(tiny, bad, match):
    with pytest.raises(ZooError, match=match) as e:
        tiny(bad)
    assert "\n" not in str(e.value)


def test_too_large_is_refused_before_work(tiny, monkeypatch):
    import zoo_tocsr.pipeline as p

    monkeypatch.setattr(p, "MAX_PIXELS", 32 * 32)
    with pytest.raises(ZooError, match="at most"):
        tiny(_image(40, 40))


@pytest.mark.slow
def test_one_step_unet_exports_to_onnx_with_parity_and_passes_the_npu_lint(tmp_path):
    """Minutes on the shared CPU (ONNX export of the surrogate UNet), hence slow."""
    import json

    pytest.importorskip("onnxruntime")
    from zoo.export import ExportRequest, export, lint

    pipe = zoo.load("tocsr-x4-tiny", pretrained=False)
    export(pipe, ExportRequest(target="onnx", components=["unet"], out_dir=tmp_path), progress=False)
    meta = json.loads((tmp_path / "tocsr-x4-tiny-onnx-fp32" / "metadata.json").read_text())
    assert meta["components"]["unet"]["parity"]["cosine"] > 0.9999
    report = lint(pipe, components=["unet"])
    assert report.ok, report.format()
