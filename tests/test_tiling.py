"""zoo.tiling.tiled: blended tiles equal the whole-image result."""
import pytest
import torch
import torch.nn.functional as F

from zoo import ZooError
from zoo.tiling import tile_starts, tiled


def test_tile_starts_cover_with_overlap():
    starts = tile_starts(100, 32, 8)
    assert starts[0] == 0 and starts[-1] == 100 - 32
    assert all(b - a <= 32 - 8 for a, b in zip(starts, starts[1:]))
    assert tile_starts(20, 32, 8) == [0]


def test_identity_tiled_equals_untiled():
    x = torch.randn(2, 3, 77, 93)
    assert torch.equal(tiled(lambda t: t, x, tile=32, overlap=8), x)


def test_conv_tiled_matches_untiled():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 5, 3, padding=1)
    x = torch.randn(1, 3, 70, 90)
    with torch.no_grad():
        ref = conv(x)
        out = tiled(conv, x, tile=32, overlap=16)
    # The 1-pixel zero-padding seam of each tile lies in the weight-0 context band.
    assert out.shape == ref.shape
    assert torch.allclose(out, ref, atol=1e-5)


def test_blending_hides_a_wrong_tile_border():
    # A function that corrupts the outermost pixel of every tile (like padding artefacts): the
    # blended result must still match, since those pixels get weight 0 when a neighbour has them.
    def fn(t):
        y = t.clone()
        y[..., 0, :] = y[..., -1, :] = y[..., :, 0] = y[..., :, -1] = 1e3
        return y

    x = torch.randn(1, 1, 64, 64)
    out = tiled(fn, x, tile=24, overlap=8)
    inner = (slice(None), slice(None), slice(1, -1), slice(1, -1))  # the image border has no neighbour
    assert torch.equal(out[inner], x[inner])


def test_nearest_x4_tiled_is_exact():
    x = torch.rand(1, 3, 50, 75)
    up = lambda t: F.interpolate(t, scale_factor=4, mode="nearest")  # noqa: E731
    out = tiled(up, x, tile=16, overlap=4, scale=4, progress=True)
    assert torch.equal(out, up(x))


def test_downscale_and_channel_change():
    x = torch.rand(1, 3, 64, 96)
    down = lambda t: F.avg_pool2d(t, 8).mean(1, keepdim=True)  # noqa: E731
    out = tiled(down, x, tile=32, overlap=16, scale=1 / 8)
    assert out.shape == (1, 1, 8, 12)
    assert torch.allclose(out, down(x), atol=1e-6)


def test_wrong_output_size_is_reported():
    with pytest.raises(ZooError, match="expected 64x64"):
        tiled(lambda t: t, torch.zeros(1, 1, 40, 40), tile=16, overlap=4, scale=4)
    with pytest.raises(ZooError, match="BCHW"):
        tiled(lambda t: t, torch.zeros(3, 40, 40))
