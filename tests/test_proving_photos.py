"""Proving ground, photo half: photo patches split by photo, edit triplets, metrics, bad input,
and deterministic training of the photo teachers (a few steps of their -tiny variants)."""
from __future__ import annotations

import os

import numpy as np
import pytest

import zoo
from zoo.proving import edits as E
from zoo.proving import photos as P


def test_splits_are_disjoint_by_photo():
    train, test = set(P.split_photos("train")), set(P.split_photos("test"))
    assert train and test and not train & test
    from zoo.evaluate.photos import SOURCES

    assert train | test <= set(SOURCES)
    _, src = P.patches_with_sources("test", 32, 12)
    assert set(src) == test
    ds = E.edits("train", 32, 14)
    assert set(ds.photos) <= train


def test_patches_are_fixed_by_seed():
    a, b, c = P.patches("train", 32, 6, seed=3), P.patches("train", 32, 6, seed=3), P.patches("train", 32, 6, seed=4)
    assert a.shape == (6, 32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert (a.reshape(6, -1).std(1) >= P.MIN_STD).all()
    lr, hr = P.sr_pairs("test", 32, 3)
    assert lr.shape == (3, 8, 8, 3) and hr.shape == (3, 32, 32, 3)


def test_edit_triplets_follow_their_operation():
    ds = E.edits("test", 32, len(E.OPS))
    assert ds.ops == list(E.OPS) and ds.instructions == [E.INSTRUCTIONS[o] for o in E.OPS]
    by = {op: (ds.inputs[i].astype(int), ds.targets[i].astype(int)) for i, op in enumerate(ds.ops)}
    x, y = by["flip"]
    assert np.array_equal(y, x[:, ::-1])
    x, y = by["invert"]
    assert np.array_equal(y, 255 - x)
    _, y = by["grayscale"]
    assert np.array_equal(y[..., 0], y[..., 1]) and np.array_equal(y[..., 1], y[..., 2])
    x, y = by["inpaint"]
    hole = (x != y).any(-1)
    assert hole.any() and (x[hole] == E.HOLE_GRAY).all()
    x, y = by["brighten"]
    assert y.mean() > x.mean()
    inp, instruction, tgt = ds.pil(0)
    assert inp.size == tgt.size == (32, 32) and instruction == E.INSTRUCTIONS[ds.ops[0]]
    xt, yt = ds.tensors()
    assert xt.shape == (len(E.OPS), 3, 32, 32) and float(xt.min()) >= -1 and float(xt.max()) <= 1


def test_metrics_and_identity_baseline():
    ds = E.edits("test", 32, 2 * len(E.OPS))
    perfect = E.score(ds.targets, ds)
    assert perfect["all"]["psnr"] == 100.0 and perfect["all"]["ssim"] == pytest.approx(1.0)
    ident = E.identity_baseline(ds)
    assert set(ident) == set(E.OPS) | {"all"}
    assert ident["invert"]["psnr"] < ident["blur"]["psnr"]  # the identity is far from an inversion


def _one_line_error(fn, *words):
    with pytest.raises(zoo.ZooError) as info:
        fn()
    msg = str(info.value)
    assert "\n" not in msg and all(w in msg for w in words), msg


def test_bad_input_is_a_one_line_error():
    from PIL import Image

    _one_line_error(lambda: E.op_of("paint it blue"), "unknown edit instruction", "flip it horizontally")
    _one_line_error(lambda: E.edits("valid", 32), "unknown photo split")
    _one_line_error(lambda: E.edits("train", 30), "multiple of 8")  # sr pairs need a size divisible by 2x4
    _one_line_error(lambda: P.patches("train", 4), "patch size")
    _one_line_error(lambda: P.patches("train", 32, 0), "count")
    gray = Image.new("L", (32, 32))
    _one_line_error(lambda: E.apply_edit("flip", gray), "RGB", "convert")
    _one_line_error(lambda: E.apply_edit("sr", np.zeros((30, 30, 3), np.uint8)), "multiple of 4")
    _one_line_error(lambda: P.to_tensor(np.zeros((2, 8, 8), np.uint8)), "uint8 RGB")


def test_photo_teacher_pipelines_refuse_bad_images():
    pipe = zoo.load("mini-sr-tiny", pretrained=False)
    from PIL import Image

    _one_line_error(lambda: pipe(image=Image.new("L", (16, 16))), "RGB")
    _one_line_error(lambda: pipe(image=Image.new("RGB", (4, 4))), "8x8")
    _one_line_error(lambda: pipe(image=Image.new("RGB", (8, 8)), num_inference_steps=0), "num_inference_steps")
    out = pipe(image=Image.new("RGB", (12, 8)), num_inference_steps=1).images[0]
    assert out.size == (48, 32)


@pytest.mark.parametrize("model_id", ["mini-sr-tiny", "mini-edit-tiny"])
def test_training_is_deterministic(model_id, tmp_path):
    import torch
    from zoo_proving.train_photos import train_photo_teacher

    spec = zoo.get_spec(model_id)
    runs = [train_photo_teacher(spec, {"out_dir": str(tmp_path), "progress": False, "steps": 2}, save=False)
            for _ in range(2)]
    for name in ("unet", "vae", "text_encoder"):
        if name in runs[0].components:
            a, b = (r.components[name].state_dict() for r in runs)
            assert all(torch.equal(a[k], b[k]) for k in a), name
    init = zoo.build(model_id).unet.state_dict()
    assert any(not torch.equal(init[k], v) for k, v in runs[0].unet.state_dict().items())  # it did train


def test_training_writes_a_loadable_folder(tmp_path):
    from zoo_proving.train_photos import train_photo_teacher

    out = train_photo_teacher(zoo.get_spec("mini-sr-tiny"), {"out_dir": str(tmp_path / "w"), "progress": False})
    assert (out / "unet" / "diffusion_pytorch_model.safetensors").exists() and (out / "training.json").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp sibling left
    mask = os.umask(0)
    os.umask(mask)
    modes = {p.relative_to(out).as_posix(): p.stat().st_mode & 0o777 for p in out.rglob("*") if p.is_file()}
    assert set(modes.values()) == {0o666 & ~mask}, modes  # not safetensors' 0600
    pipe = zoo.load("mini-sr-tiny", weights=out)
    assert type(pipe).__name__ == "MiniSRPipeline"


def test_bad_training_options_are_one_line_errors():
    from zoo_proving.train_photos import train_photo_teacher

    spec = zoo.get_spec("mini-sr-tiny")
    _one_line_error(lambda: train_photo_teacher(spec, {"stepz": 3}), "stepz")
    _one_line_error(lambda: train_photo_teacher(spec, {"data": "/tmp"}), "does not apply")
    _one_line_error(lambda: train_photo_teacher(spec, {"steps": "many"}), "steps")
    edit = zoo.get_spec("mini-edit-tiny")
    _one_line_error(lambda: train_photo_teacher(edit, {"timesteps": "uniform"}), "pixel_steps")


def test_demos_default_to_the_miniatures_and_label_them(monkeypatch):
    from zoo.demo import common

    monkeypatch.setattr(common, "has_local_weights", lambda mid: mid.startswith("mini-"))  # shipped, nothing cached
    assert common.preferred_default(zoo.list_models(task="super-resolution")) == "mini-sr"
    assert common.preferred_default(zoo.list_models(task="image-editing")) == "mini-edit"
    assert common.preferred_default(zoo.list_models(task="text-to-image")) == "mini-sd"
    assert "miniature" in common.miniature_note("mini-sr") and common.miniature_note("sd15") == ""
    # full-size weights present (e.g. fetched into the HF cache): they win over the miniature
    monkeypatch.setattr(common, "has_local_weights", lambda mid: mid.startswith("mini-") or mid == "sd-x4-upscaler")
    assert common.preferred_default(zoo.list_models(task="super-resolution")) == "sd-x4-upscaler"
