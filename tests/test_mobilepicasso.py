"""MobilePicasso pipeline: edit -> latent projection -> one-step x4 SR tile by tile (tiny models)."""
import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from zoo import ZooError

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def pipe():
    torch.manual_seed(0)
    p = zoo.load("mobilepicasso-tiny", pretrained=False)
    p.set_progress_bar_config(disable=True)
    return p


def _image(w, h, seed=0):
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))


def _run(pipe, image, **kw):
    return pipe("make it red", image, num_inference_steps=1, output_type="pt",
                generator=torch.Generator().manual_seed(0), **kw).images


class LocalUpscaler:
    """Stand-in one-step upscaler with a bounded receptive field (two 3x3 convs, then x8 nearest):
    there tiles with enough context must equal the untiled run exactly."""

    def __init__(self, skip=False):
        self.config = {"skip": skip}  # skip: the output is the bicubic of the decoded edit + D(x0) - D(z_lr)
        g = torch.Generator().manual_seed(1)
        self.w1, self.w2 = torch.randn(16, 16, 3, 3, generator=g) * 0.1, torch.randn(3, 16, 3, 3, generator=g) * 0.1

    def one_step(self, z):
        return torch.nn.functional.conv2d(z, self.w1, padding=1)

    def decode(self, z):
        return torch.nn.functional.interpolate(torch.nn.functional.conv2d(z, self.w2, padding=1), scale_factor=8)


@pytest.mark.parametrize("skip", [False, True])
def test_tiled_equals_untiled_where_the_receptive_field_is_bounded(pipe, monkeypatch, skip):
    monkeypatch.setattr(pipe, "upscaler", lambda: LocalUpscaler(skip))
    img = _image(64, 48)
    untiled = _run(pipe, img, tile=10_000)
    # projection (3 latent px) + stand-in (2 latent px) = 5 px of receptive field <= context 6
    tiled = _run(pipe, img, tile=8, tile_context=6)
    assert tiled.shape == untiled.shape == (1, 3, 192, 256)
    assert torch.allclose(tiled, untiled, atol=1e-5)
    seams = _run(pipe, img, tile=8, tile_context=0)
    assert (seams - untiled).abs().max() > 1e-3  # too little context shows: the check above can fail


def test_real_tiny_models_tile_and_keep_the_picture(pipe):
    """The tiny TOC-SR upscaler has GroupNorm and attention (tile-global), so tiles are not bit-equal;
    with random weights the tiled output must still follow the untiled one."""
    img = _image(64, 64)
    untiled = _run(pipe, img, tile=10_000)
    tiled = _run(pipe, img, tile=16, tile_context=8)
    assert tiled.shape == untiled.shape == (1, 3, 256, 256)
    corr = float(torch.corrcoef(torch.stack([tiled.flatten(), untiled.flatten()]))[0, 1])
    assert corr > 0.5


def test_output_size_follows_the_input(pipe):
    out = pipe("make it red", _image(200, 136), num_inference_steps=1, output_type="np").images
    assert out.shape == (1, 136, 200, 3)  # a photo larger than edit_size comes back at its own size
    out = pipe("make it red", _image(32, 32), num_inference_steps=1, output_size=(100, 60), output_type="pil").images
    assert out[0].size == (100, 60)


def test_tile_from_budget_and_errors(pipe):
    assert pipe.tile_side(None, 256.0, 8) > pipe.tile_side(None, 64.0, 8) >= 8
    with pytest.raises(ZooError, match="raise the budget"):
        pipe.tile_side(None, 1.0, 8)
    with pytest.raises(ZooError, match="PIL image"):
        pipe("make it red", np.zeros((64, 64, 3)))
    with pytest.raises(ZooError, match="output_type"):
        pipe("make it red", _image(64, 64), output_type="latent")
    with pytest.raises(ZooError, match="out of range"):
        pipe("make it red", _image(64, 64), output_size=4)


def test_plugin_contract():
    from zoo.testing import check_plugin

    ids = {s.id for s in check_plugin("mobilepicasso", conformance=False)}  # tests/test_conformance.py runs the kit
    assert {"mobilepicasso", "mobilepicasso-tiny"} <= ids


def test_banded_bicubic_equals_torch_bicubic(pipe):
    """A skip upscaler's bicubic term is added in row bands from two resize matrices: it must be torch's bicubic."""
    z = torch.randn(1, 4, 8, 6, generator=torch.Generator().manual_seed(0))
    img = pipe.vae.decode(z / pipe.vae.config.scaling_factor).sample.float().clamp(-1, 1)
    want = torch.nn.functional.interpolate(img, size=(100, 52), mode="bicubic", align_corners=False)
    got = pipe.add_bicubic(torch.zeros(1, 3, 100, 52), z, band=7)
    assert torch.allclose(got, want, atol=1e-5)
