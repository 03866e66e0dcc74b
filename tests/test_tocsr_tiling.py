"""zoo.tiling context-preserving tiles: 0% overlap, real neighbour context, equal to untiled."""
import pytest
import torch

from zoo import ZooError
from zoo.tiling import context_tiled, tile_for_budget


def _net(radius_convs=2, scale=4):
    torch.manual_seed(0)
    layers = []
    for i in range(radius_convs):
        layers += [torch.nn.Conv2d(3 if i == 0 else 8, 8, 3, padding=1), torch.nn.SiLU()]
    layers += [torch.nn.Conv2d(8, 3, 1), torch.nn.Upsample(scale_factor=scale, mode="nearest")]
    return torch.nn.Sequential(*layers)


def test_tiled_equals_untiled_for_bounded_receptive_field():
    net, x = _net(), torch.randn(1, 3, 70, 94)
    with torch.no_grad():
        ref = net(x)
        out = context_tiled(net, x, tile=16, context=2, scale=4, align=2)
    assert out.shape == ref.shape
    assert torch.allclose(out, ref, atol=1e-5)


def test_too_little_context_shows_seams():
    net, x = _net(radius_convs=3), torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        ref = net(x)
        out = context_tiled(net, x, tile=16, context=0, scale=4)
    assert (out - ref).abs().max() > 1e-3  # the test above can fail


def test_small_image_is_one_call_and_grid_is_checked():
    seen = []
    x = torch.randn(1, 3, 10, 12)
    out = context_tiled(lambda t: seen.append(t.shape) or t, x, tile=64, context=8)
    assert torch.equal(out, x) and len(seen) == 1
    with pytest.raises(ZooError, match="multiple of 2"):
        context_tiled(lambda t: t, torch.randn(1, 3, 11, 12), tile=4, context=2, align=2)


def test_tile_from_budget():
    t = tile_for_budget(100.0, 0.001, context=8, align=8)
    assert t % 8 == 0 and (t + 16) ** 2 * 0.001 <= 100.0 < (t + 8 + 16) ** 2 * 0.001
    with pytest.raises(ZooError, match="raise the budget"):
        tile_for_budget(0.01, 0.001, context=8)


class _NearestX4:
    """A stand-in upscaler pipeline (PIL nearest x4): zero receptive field, so any tiling is exact."""

    def __init__(self):
        self.calls = 0

    def __call__(self, prompt=None, image=None, **kwargs):
        from types import SimpleNamespace

        from PIL import Image

        self.calls += 1
        return SimpleNamespace(images=[image.resize((image.width * 4, image.height * 4), Image.NEAREST)])


def test_demo_upscale_tiles_with_context_and_matches_one_pass():
    import numpy as np
    from PIL import Image

    from zoo.demo.common import upscale_image

    img = Image.fromarray(np.random.default_rng(0).integers(0, 256, (44, 60, 3), dtype=np.uint8))
    whole, _ = upscale_image(_NearestX4(), {}, img, 4, 0, tile=64, context=8, multiple=8)
    pipe = _NearestX4()
    tiled, _ = upscale_image(pipe, {}, img, 4, 0, tile=16, context=8, multiple=8)
    assert pipe.calls == 3 * 4 and tiled.size == (240, 176)
    assert np.array_equal(np.asarray(tiled), np.asarray(whole))


def test_sr_suite_takes_its_tile_from_a_memory_budget():
    from zoo import ModelSpec
    from zoo.evaluate import evaluate

    spec = ModelSpec(id="evalsr-budget", family="evalsr", summary="test", task="super-resolution")
    recs = evaluate(_NearestX4(), "sr", spec=spec, photos=["coffee"], memory_budget_mb=1.0, mb_per_lr_pixel=1e-4,
                    context=8, baseline=False, progress=False)
    want = tile_for_budget(1.0, 1e-4, context=8, align=1)
    assert {r["settings"]["tile"] for r in recs} == {want} and recs[0]["settings"]["tiling"] == "context_tiled"
    with pytest.raises(ZooError, match="mb_per_lr_pixel"):
        evaluate(_NearestX4(), "sr", spec=spec, photos=["coffee"], memory_budget_mb=1.0, baseline=False, progress=False)
