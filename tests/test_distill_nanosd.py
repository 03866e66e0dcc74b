"""Miniature NanoSD reproduction on CPU: a tiny SD-style teacher -> FwGD of all 30 surrogate
blocks -> BO search over the 32,768 combinations -> tiny-VAE distillation -> alignment.

The teacher is nanosd-tiny's nanosd-l equivalent (sd15-tiny's UNet after surgery, seeded
random weights); fidelity is measured against it (reference='surgery'). The comparison is
honest: the same student with freshly initialised non-original blocks, and with the teacher's
blocks merely cut (no distillation), are scored on the same held-out latents.
"""
from __future__ import annotations

import json

import pytest

import zoo
from zoo import ZooError


MINI = {
    "teacher": "sd15-tiny", "teacher_pretrained": False, "device": "cpu", "seed": 0,
    "reference": "surgery", "student": "search",
    "dataset": {"n_samples": 48, "n_eval": 8, "latents": "random"},
    "capture": {"n_batches": 12, "batch_size": 4},
    "blocks": {"steps": 60, "lr": 1e-3, "checkpoint_every": 30},
    "search": {"n_trials": 14, "n_startup_trials": 6, "seed": 0},
    "eval_batches": 4, "eval_batch_size": 8,
    "vae": {"steps": 20, "lr": 1e-3, "batch_size": 4, "checkpoint_every": 10},
    "align": {"steps": 60, "lr": 2e-4, "batch_size": 4, "checkpoint_every": 30},
}


@pytest.fixture(scope="module")
def mini_run(tmp_path_factory):
    from zoo_nanosd.train import train_nanosd

    out = tmp_path_factory.mktemp("nanosd-mini")
    train_nanosd(zoo.get_spec("nanosd-tiny"), {**MINI, "out_dir": str(out)}, progress=False)
    return out


def test_miniature_reproduction(mini_run):
    out = mini_run
    blocks = sorted(p.parent.name for p in (out / "blocks").glob("*/block.safetensors"))
    assert len(blocks) == 30, blocks  # 3+3+3+7+7+7 surrogate blocks
    search = json.loads((out / "search" / "search.json").read_text())
    assert search["pareto"] and (out / "search" / "pareto.png").stat().st_size > 5000
    pts = [(e["metrics"]["fidelity"], e["metrics"]["params"]) for e in search["pareto"]]
    assert all(not (q[0] <= p[0] and q[1] <= p[1] and q != p) for p in pts for q in pts)
    r = json.loads((out / "report.json").read_text())
    print("\nminiature NanoSD:", json.dumps(r, indent=1))
    assert r["error_distilled"] < r["error_fresh_blocks"], "FwGD must beat freshly initialised blocks"
    assert r["error_distilled"] <= r["error_teacher_init_blocks"], "FwGD must not be worse than cut teacher blocks"
    # alignment optimises the student on its own (tiny-VAE) latents against the teacher on its own
    assert r["student_vae"] and r["error_before_align"] == r["error_distilled_student_vae"]
    assert r["error_after_align"] < r["error_before_align"], "alignment must lower the teacher-aligned error"
    # the saved pipeline loads back with diffusers and runs
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(str(out / "pipeline"))
    assert list(pipe.unet.config.stage_choices) == list(r["arch"].values())
    img = pipe("a red fox", num_inference_steps=2, height=64, width=64, output_type="np").images
    assert img.shape == (1, 64, 64, 3)


def test_finished_stages_need_resume(mini_run):
    from zoo_nanosd.train import train_nanosd

    with pytest.raises(ZooError, match="--resume"):
        train_nanosd(zoo.get_spec("nanosd-tiny"), {**MINI, "out_dir": str(mini_run), "stage": "search"},
                     progress=False)


def test_bad_config_is_a_clear_error(tmp_path):
    from zoo_nanosd.train import parse_config

    with pytest.raises(ZooError, match="blocks.steps"):
        parse_config({"blocks": {"steps": 0}})
    with pytest.raises(ZooError, match="stage"):
        parse_config({"stage": "everything"})


def test_cli_train_dispatches_and_reports_missing_hooks(tmp_path, capsys):
    from zoo.cli import main

    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"blocks": {"steps": 0}}))
    assert main(["train", "nanosd-tiny", "--config", str(cfg), "--out", str(tmp_path / "o")]) == 2
    assert "blocks.steps" in capsys.readouterr().err
    assert main(["train", "sd15-tiny", "--out", str(tmp_path / "o")]) == 2
    assert "no training recipe" in capsys.readouterr().err
    (tmp_path / "bad.yaml").write_text("a: [1,\n")
    assert main(["train", "nanosd-tiny", "--config", str(tmp_path / "bad.yaml")]) == 2
    assert "cannot parse" in capsys.readouterr().err


def test_data_from_images_and_from_prompts(tmp_path):
    import numpy as np
    import torch
    from PIL import Image

    from zoo_nanosd.train_data import prepare_data

    torch.manual_seed(0)
    pipe = zoo.build("sd15-tiny")
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    for i in range(3):
        Image.fromarray((np.random.default_rng(i).random((80, 96, 3)) * 255).astype("uint8")).save(imgs / f"{i}.png")
        (imgs / f"{i}.txt").write_text(f"picture {i}")
    d = prepare_data(pipe, tmp_path / "a", data=imgs, n_samples=8, resolution=64, latents="auto", teacher_steps=2,
                     seed=0, device="cpu", progress=False)
    assert d["meta"]["source"] == "images" and d["latents"].shape == (3, 4, 8, 8) and d["images"].shape == (3, 3, 64, 64)
    assert d["meta"]["prompts"] == ["picture 0", "picture 1", "picture 2"]
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "prompts.txt").write_text("a cat\na dog\n")
    d = prepare_data(pipe, tmp_path / "b", data=prompts, n_samples=3, resolution=64, latents="auto", teacher_steps=2,
                     seed=0, device="cpu", progress=False)
    assert d["meta"]["source"] == "teacher" and d["latents"].shape == (3, 4, 8, 8)
    assert d["meta"]["prompts"] == ["a cat", "a dog", "a cat"] and d["ehs"].shape == (3, 77, 32)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ZooError, match="prompts.txt"):
        prepare_data(pipe, tmp_path / "c", data=tmp_path / "empty", n_samples=3, resolution=64, latents="auto",
                     teacher_steps=2, seed=0, device="cpu", progress=False)


def test_full_size_training_on_random_latents_is_refused(tmp_path):
    """Without --data a full-size variant would learn from noise: refused before loading anything."""
    from zoo_nanosd.train import train_nanosd

    for dataset in ({}, {"latents": "random"}):
        with pytest.raises(ZooError, match="--data DIR"):
            train_nanosd(zoo.get_spec("nanosd-s"), {"out_dir": str(tmp_path), "dataset": dataset}, progress=False)
    assert not any(tmp_path.iterdir())


def test_every_card_choice_names_a_real_config_field():
    """A card's 'change it in' column names fields that exist in the train config or the spec's config."""
    from zoo_nanosd.train import NanoSDTrainConfig, parse_config

    spec = zoo.get_spec("nanosd-s")
    for name, choice in spec.choices.items():
        if choice.field is None:
            continue
        where, path = choice.field.split(": ", 1)
        head = path.split(" ")[0].split(".")
        if where == "train config":
            fields = {f.alias or k for k, f in NanoSDTrainConfig.model_fields.items()} | set(NanoSDTrainConfig.model_fields)
            assert head[0] in fields, (name, choice.field)
        else:
            assert head[0] in spec.config, (name, choice.field)
    cfg = parse_config({"option_sets": {"encoder": ["RARA", "R"]}, "search_fidelity": "tafid",
                        "vae_loss": {"pixel_weight": 0.5}, "align": {"train_vae": True}})
    assert cfg.option_sets.decoder[0] == "RARARA" and cfg.vae_loss.pixel_weight == 0.5
    with pytest.raises(ZooError, match="original"):
        parse_config({"option_sets": {"encoder": ["R"]}})


def test_tafid_scores_a_student_against_the_teacher():
    """taFID (search_fidelity='tafid') with the proving ground's digit features: ~0 for the
    teacher's own UNet, large for a perturbed one."""
    import copy
    from types import SimpleNamespace

    import torch

    from zoo_nanosd.tafid import TaFID, inception_available, resolve_features
    from zoo_nanosd.train import parse_config

    assert resolve_features("auto") == ("inception" if inception_available() else "digits")
    torch.manual_seed(0)
    pipe = zoo.build("nanosd-tiny")
    cfg = parse_config({"resolution": 32, "tafid_features": "digits", "tafid_steps": 2, "search_fidelity": "tafid"})
    run = SimpleNamespace(pipe=pipe, cfg=cfg, spec=zoo.get_spec("nanosd-tiny"), n_train=2,
                          data={"meta": {"prompts": ["a", "b", "a red fox", "a cat", "a dog", "a car"]}})
    tafid = TaFID(run)
    other = copy.deepcopy(pipe.unet)
    with torch.no_grad():
        for p in other.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    assert abs(tafid(pipe.unet)) < 1e-3 < 1.0 < tafid(other)
