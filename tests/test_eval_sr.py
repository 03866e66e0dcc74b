"""SR metrics (Y-channel PSNR/SSIM against skimage's reference implementation) and the SR suite."""
import math

import numpy as np
import pytest
from PIL import Image

from zoo import ModelSpec, ZooError
from zoo.evaluate.photos import DEFAULT, load_photo
from zoo.evaluate.sr import bicubic_upscale, pipeline_upscaler, psnr_y, rgb_to_y, sr_eval, ssim_y


@pytest.fixture(scope="module")
def photo():
    return load_photo("astronaut")[:200, :240]


def test_photos_ship_with_packages():
    for name in DEFAULT:
        img = load_photo(name)
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3 and min(img.shape[:2]) >= 200
    with pytest.raises(ZooError, match="unknown photo"):
        load_photo("lena")


def test_bt601_luma_range():
    assert rgb_to_y(np.zeros((1, 1, 3)))[0, 0] == pytest.approx(16.0)
    assert rgb_to_y(np.full((1, 1, 3), 255.0))[0, 0] == pytest.approx(235.0)


def test_identity_scores(photo):
    assert psnr_y(photo, photo, crop=4) == math.inf
    assert ssim_y(photo, photo, crop=4) == pytest.approx(1.0, abs=1e-12)


def test_degradation_matches_skimage(photo):
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    rng = np.random.default_rng(0)
    noisy = np.clip(photo + rng.normal(0, 12, photo.shape), 0, 255).astype(np.uint8)
    blurred = np.asarray(Image.fromarray(photo).resize((60, 50), Image.BICUBIC).resize((240, 200), Image.BICUBIC))
    for deg in (noisy, blurred):
        ya, yb = rgb_to_y(deg)[4:-4, 4:-4], rgb_to_y(photo)[4:-4, 4:-4]
        ref_psnr = peak_signal_noise_ratio(yb, ya, data_range=255)
        ref_ssim = structural_similarity(yb, ya, data_range=255, gaussian_weights=True, sigma=1.5,
                                         use_sample_covariance=False)
        assert psnr_y(deg, photo, crop=4) == pytest.approx(ref_psnr, abs=1e-9)
        assert ssim_y(deg, photo, crop=4) == pytest.approx(ref_ssim, abs=1e-6)
        assert 15 < ref_psnr < 40 and 0.3 < ref_ssim < 0.99


class UpscalePipe:
    """A stand-in SR pipeline with diffusers' calling convention."""

    def __init__(self, resample):
        self.resample, self.calls = resample, 0

    def __call__(self, prompt, image, **kwargs):
        from types import SimpleNamespace

        self.calls += 1
        return SimpleNamespace(images=[image.resize((image.width * 4, image.height * 4), self.resample)])


def test_tiled_pipeline_equals_whole_image_for_nearest():
    photos = {"chelsea": load_photo("chelsea")}
    pipe = UpscalePipe(Image.NEAREST)
    whole = sr_eval(pipeline_upscaler(pipe, 4, tile=None), photos, progress=False)
    tiled = sr_eval(pipeline_upscaler(pipe, 4, tile=32, context=4, progress=False), photos, progress=False)
    assert pipe.calls > 2  # the tiled run really called the pipe per tile
    assert tiled == whole


def test_sr_suite_bicubic_pipe_equals_baseline():
    from zoo.evaluate import evaluate

    spec = ModelSpec(id="evalsr-test", family="evalsr", summary="test", task="super-resolution")
    recs = evaluate(UpscalePipe(Image.BICUBIC), "sr", spec=spec, photos=["chelsea", "china"], tile=None, progress=False)
    by = {(r["backend"], r["metric"]): r for r in recs}
    assert set(by) == {("bicubic", "psnr_y"), ("bicubic", "ssim_y"), ("torch", "psnr_y"), ("torch", "ssim_y")}
    assert by["torch", "psnr_y"]["value"] == pytest.approx(by["bicubic", "psnr_y"]["value"])
    assert 20 < by["bicubic", "psnr_y"]["value"] < 40
    assert set(by["torch", "psnr_y"]["per_image"]) == {"chelsea", "china"}
    assert all(r["dataset"] == "zoo-photos" and r["suite"] == "sr" for r in recs)


def test_sr_suite_refuses_other_tasks():
    from zoo.evaluate import evaluate

    spec = ModelSpec(id="evalsr-t2i", family="evalsr", summary="test", task="text-to-image")
    with pytest.raises(ZooError, match="super-resolution"):
        evaluate(UpscalePipe(Image.BICUBIC), "sr", spec=spec)


def test_wrong_output_size_is_reported():
    with pytest.raises(ZooError, match="expected"):
        sr_eval(lambda lr: bicubic_upscale(lr, 2), {"chelsea": load_photo("chelsea")}, scale=4, progress=False)
