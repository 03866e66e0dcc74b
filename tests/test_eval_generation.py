"""Generation metrics: teacher-aligned PSNR/SSIM, FID machinery, clear errors for missing weights."""
import math

import numpy as np
import pytest
import torch

import zoo
from zoo import ZooError
from zoo.evaluate.generation import clip_score, fid, generate, teacher_aligned

PROMPTS = ["a red cube", "a cat"]


@pytest.fixture(scope="module")
def pipe():
    p = zoo.load("sd15-tiny", pretrained=False)
    p.set_progress_bar_config(disable=True)
    return p


def test_pipe_against_itself_is_perfectly_aligned(pipe):
    r = teacher_aligned(pipe, pipe, PROMPTS, seed=3, steps=2, size=64, progress=False)
    assert r["ta_psnr"] == math.inf
    assert r["ta_ssim"] == pytest.approx(1.0, abs=1e-12)
    assert len(r["student_images"]) == 2 and r["student_images"][0].shape == (64, 64, 3)


def test_different_student_is_not_aligned(pipe):
    torch.manual_seed(1)
    other = zoo.load("sd15-tiny", pretrained=False)  # other random weights
    other.set_progress_bar_config(disable=True)
    teacher_imgs = generate(pipe, PROMPTS, seed=3, steps=2, size=64, progress=False)
    r = teacher_aligned(other, teacher_imgs, PROMPTS, seed=3, steps=2, size=64, progress=False)
    assert math.isfinite(r["ta_psnr"]) and r["ta_ssim"] < 1.0
    with pytest.raises(ZooError, match="teacher images"):
        teacher_aligned(other, teacher_imgs[:1], PROMPTS, steps=1, size=64, progress=False)


class MeanColour(torch.nn.Module):
    """A 3-feature extractor (mean RGB) so FID's statistics can be checked without weights."""

    num_features = 3

    def forward(self, x):
        return x.float().mean(dim=(2, 3)) / 255


def test_fid_with_custom_features():
    rng = np.random.default_rng(0)
    a = [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(8)]
    b = [np.clip(im.astype(int) + 60, 0, 255).astype(np.uint8) for im in a]
    assert fid(a, a, MeanColour()) == pytest.approx(0.0, abs=1e-3)
    assert fid(a, b, MeanColour()) > 0.01
    with pytest.raises(ZooError, match="at least 2"):
        fid(a[:1], b, MeanColour())


def test_missing_clip_weights_name_what_to_fetch(tmp_path, monkeypatch):
    img = [np.zeros((32, 32, 3), np.uint8)]
    with pytest.raises(ZooError, match=r"no-such-org/no-such-clip.*not in the local Hugging Face cache.*hf download"):
        clip_score(img, ["x"], model="no-such-org/no-such-clip")


def test_generation_suite_with_teacher(pipe):
    from zoo.evaluate import evaluate

    recs = evaluate(pipe, "generation", teacher=pipe, prompts=PROMPTS, steps=1, size=64, metrics=["ta"], progress=False)
    by = {r["metric"]: r for r in recs}
    assert set(by) == {"ta_psnr", "ta_ssim"}
    assert by["ta_psnr"]["value"] == math.inf and by["ta_ssim"]["value"] == pytest.approx(1.0)
    assert by["ta_psnr"]["settings"]["steps"] == 1 and by["ta_psnr"]["dataset"] == "custom-prompts"
