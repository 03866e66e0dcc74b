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


def test_windowed_bicubic_equals_torch_bicubic():
    """Tiles resize their own window of the edit (latent, and a skip upscaler's decoded edit): it must be the
    window of torch's bicubic resize of the whole, for up- and down-sizing and at the borders."""
    from zoo_mobilepicasso.resize import resize_window

    g = torch.Generator().manual_seed(0)
    for (h, w), (H, W) in [((8, 6), (100, 52)), ((7, 9), (31, 45)), ((10, 10), (3, 4)), ((5, 7), (5, 7))]:
        x = torch.rand(2, 3, h, w, generator=g) * 2 - 1
        whole = torch.nn.functional.interpolate(x, size=(H, W), mode="bicubic", align_corners=False)
        for y0, y1, x0, x1 in [(0, H, 0, W), (H // 3, H, 1, max(2, W // 2)), (H - 1, H, 0, 1)]:
            assert torch.allclose(resize_window(x, (H, W), (y0, y1, x0, x1)), whole[..., y0:y1, x0:x1], atol=1e-5)


@pytest.mark.parametrize("skip", [False, True])
def test_nothing_in_the_tiled_stages_grows_with_the_output(pipe, monkeypatch, skip):
    """Stages 2-3 make tensors of the same shapes whatever the output size (the output is written tile by
    tile into the caller's buffer): no resized whole latent, no whole-image float copy or bicubic term."""
    from torch.utils._python_dispatch import TorchDispatchMode

    if skip:
        monkeypatch.setattr(pipe, "upscaler", lambda: LocalUpscaler(True))

    class Shapes(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            self.seen |= {tuple(t.shape) for t in torch.utils._pytree.tree_leaves(out) if isinstance(t, torch.Tensor)}
            return out

    z = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    shapes = []
    for w, h in [(128, 128), (256, 192)]:
        cores = []
        with torch.no_grad(), Shapes() as mode:
            mode.seen = set()
            pipe.upscale_into(z, (w, h), lambda y, top, left: cores.append((top, left, *y.shape[-2:])), tile=8,
                              tile_context=4)
        covered = torch.zeros(h, w)
        for top, left, ch, cw in cores:
            covered[top:top + ch, left:left + cw] += 1
        assert bool((covered == 1).all())  # the cores tile the output once
        shapes.append(mode.seen)
    assert shapes[0] == shapes[1] and (1, 3, 128, 128) in shapes[0]  # the window's pixels: 16 latent px x 8


def test_pil_output_is_streamed_with_the_same_rounding(pipe):
    """A PIL result is filled tile by tile in uint8 (zoo.tiling.ImageSink): the same pixels as converting
    the float output whole (images_in_place), and the same as the np output."""
    from zoo.tiling import images_in_place

    img = _image(64, 48)
    kw = dict(num_inference_steps=1, output_size=(200, 120), tile=8, tile_context=4)
    pil = pipe("make it red", img, output_type="pil", generator=torch.Generator().manual_seed(0), **kw).images[0]
    npy = pipe("make it red", img, output_type="np", generator=torch.Generator().manual_seed(0), **kw).images
    pt = _run(pipe, img, output_size=(200, 120), tile=8, tile_context=4)
    z, wh = pipe.edit_latent("make it red", img, (200, 120), num_inference_steps=1,
                             generator=torch.Generator().manual_seed(0))
    whole = images_in_place(pipe.upscale(z, wh, tile=8, tile_context=4), "pil")[0]
    assert pil.size == whole.size == (200, 120) and npy.shape == (1, 120, 200, 3)
    assert np.array_equal(np.asarray(pil), np.asarray(whole))
    assert np.array_equal(npy[0], pt[0].permute(1, 2, 0).numpy())
