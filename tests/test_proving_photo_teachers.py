"""The shipped photo teachers reproduce their recorded quality on held-out photos (a subset):
mini-sr above bicubic PSNR, mini-edit above the identity baseline, through the zoo's own suites."""
from __future__ import annotations

import numpy as np
import pytest

import zoo
from zoo.proving import edits as E
from zoo.proving import photos as P


@pytest.fixture(scope="module")
def sr_pipe():
    return zoo.load("mini-sr", progress=False)  # shipped weights, offline


def test_shipped_weights_are_found_in_the_package():
    from zoo.hub import shipped_folder

    for mid in ("mini-sr", "mini-edit"):
        folder = shipped_folder(zoo.get_spec(mid))
        assert folder is not None and (folder / "model_index.json").exists(), mid


def test_mini_sr_beats_bicubic_on_held_out_photos(sr_pipe):
    """The sr suite's protocol (zoo.evaluate.sr: bicubic LR, PSNR on Y, border crop) on 128x128 centre
    crops of each held-out photo, with the spec's default sampler."""
    import torch

    from zoo.evaluate.photos import load_photo
    from zoo.evaluate.sr import bicubic_upscale, pipeline_upscaler, sr_eval

    photos = {}
    for name in P.split_photos("test"):
        im = load_photo(name)
        y, x = (im.shape[0] - 128) // 2, (im.shape[1] - 128) // 2
        photos[name] = im[y:y + 128, x:x + 128]
    kw = zoo.get_spec("mini-sr").config["call_kwargs"]
    up = pipeline_upscaler(sr_pipe, 4, tile=None, progress=False, generator=torch.Generator().manual_seed(0), **kw)
    model = sr_eval(up, photos, progress=False)
    base = sr_eval(lambda lr: bicubic_upscale(lr, 4), photos, progress=False)
    for name in photos:
        assert model[name]["psnr_y"] > base[name]["psnr_y"] + 0.2, (name, model[name], base[name])
        assert model[name]["ssim_y"] > base[name]["ssim_y"], (name, model[name], base[name])


def test_mini_sr_takes_any_size_in_tiles(sr_pipe):
    from PIL import Image

    img = Image.fromarray(P.patches("test", 40, 1)[0][:, :36])
    whole = sr_pipe(image=img, num_inference_steps=1, tile=None).images[0]
    tiled = sr_pipe(image=img, num_inference_steps=1, tile=64, overlap=16).images[0]
    assert whole.size == tiled.size == (144, 160)
    diff = np.abs(np.asarray(whole, float) - np.asarray(tiled, float)).mean()
    assert diff < 8.0  # tiles blend into the same picture (noise differs per tile)


@pytest.fixture(scope="module")
def edit_records():
    from zoo.evaluate import evaluate

    recs = evaluate("mini-edit", "edits", count=16, progress=False)  # the recorded setting (1 step: seconds)
    return {(r["backend"], r["metric"]): r for r in recs}


def test_mini_edit_learned_to_invert(edit_records):
    """What the shipped mini-edit holds: on held-out photos it inverts colours far better than returning
    the input (identity), so it follows that instruction rather than copying its input."""
    model, ident = edit_records[("torch", "psnr")]["per_op"], edit_records[("identity", "psnr")]["per_op"]
    assert model["invert"] > ident["invert"] + 6, (model, ident)


def test_mini_edit_beats_identity_on_held_out_edits(edit_records):
    """On average over the seven edits of held-out photos, with the spec's default sampler, the shipped
    mini-edit's output is closer to the target than its input is (22.4 vs 20.7 dB at 16 per edit)."""
    by = edit_records
    model, ident = by[("torch", "psnr")], by[("identity", "psnr")]
    assert model["value"] > ident["value"], (model["value"], ident["value"], model["per_op"])
    assert set(model["per_op"]) == set(E.OPS) and model["settings"]["split"] == "test"
    assert model["dataset"] == E.DATASET_NAME and by[("torch", "ssim")]["value"] > 0
