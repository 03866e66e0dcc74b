"""TOC-SR recipe end to end on the tiny teacher (adapt -> FwGD blocks -> epsilon sweep -> one-step),
and its parts: degradations, the score-distillation gradient, config errors."""
import json

import numpy as np
import pytest
import torch

import zoo
from zoo import ZooError

TINY = {
    "teacher": "tocsr-teacher-tiny", "teacher_pretrained": False,
    "data": {"patch": 64, "count": 8, "eval_batches": 1},
    "adapt": {"init_from": "sd15-tiny", "steps": 2, "batch_size": 2},
    "capture": {"n_batches": 1, "batch_size": 2},
    "blocks": {"steps": 2, "batch_size": 1},
    "search": {"n_trials": 3, "n_startup_trials": 2, "epsilons": [0.5, 1.0],
               "options": {"resnet": ["R", "R4"], "attention": ["A", "A4", "-"]}},
    "onestep": {"steps": 2, "batch_size": 2},
}


def test_tiny_recipe_end_to_end(tmp_path):
    from zoo_tocsr.train import train_tocsr

    out = train_tocsr(zoo.get_spec("tocsr-x4-tiny"), {**TINY, "out_dir": str(tmp_path / "run")}, progress=False)
    for stage in ("adapt", "block", "search", "onestep"):
        assert (out / f"{stage}.done.json").is_file()
    blocks = json.loads((out / "block" / "blocks" / "summary.json").read_text())
    assert "down_blocks.0.resnets.0--R4" in blocks and "down_blocks.0.attentions.0--A4" in blocks
    front = json.loads((out / "search" / "front.json").read_text())
    assert [f["epsilon_rel"] for f in front] == [0.5, 1.0] and (out / "search" / "front.png").stat().st_size > 0
    for f in front:
        assert f["arch"] is not None and f["noise_mse"] <= f["epsilon"] + 1e-12
    assert front[1]["params"] <= front[0]["params"]  # a looser bound never costs more
    pipe = zoo.load("tocsr-x4-tiny", weights=str(out / "pipeline"))
    from PIL import Image

    im = Image.fromarray(np.zeros((16, 24, 3), np.uint8))
    assert pipe(im).images[0].size == (96, 64)
    done = json.loads((out / "onestep.done.json").read_text())
    assert done["surrogates_not_distilled"]  # the spec's R2/R8/A2/A8 were not in this run's library
    # resume: a finished run is skipped, not redone
    again = train_tocsr(zoo.get_spec("tocsr-x4-tiny"), {**TINY, "out_dir": str(out), "resume": True}, progress=False)
    assert again == out


def test_degradations_are_seeded_and_differ():
    from zoo_tocsr.data import degrade
    from zoo.proving.photos import patches

    hr = patches("train", 32, 2, 0)
    a, b = degrade(hr, "realworld", 1), degrade(hr, "realworld", 1)
    bic = degrade(hr, "bicubic", 1)
    assert a.shape == bic.shape == (2, 8, 8, 3) and np.array_equal(a, b) and not np.array_equal(a, bic)
    with pytest.raises(ZooError, match="degradation"):
        degrade(hr, "jpeg", 0)


def test_score_distillation_gradient_is_teacher_minus_noise():
    from diffusers import DDPMScheduler

    from zoo_tocsr.losses import score_distillation

    z = torch.randn(2, 4, 3, 3, requires_grad=True)
    sched = DDPMScheduler()
    teacher = lambda x, t: torch.zeros_like(x)  # noqa: E731  (a teacher predicting no noise)
    loss = score_distillation(z, teacher, sched, torch.Generator().manual_seed(0))
    loss.backward()
    g = torch.Generator().manual_seed(0)
    torch.randint(20, 981, (2,), generator=g)
    eps = torch.randn(z.shape, generator=g)
    assert torch.allclose(z.grad, (0 - eps) / z.numel(), atol=1e-6)


def test_bad_config_is_one_line():
    from zoo_tocsr.train_config import parse_config

    with pytest.raises(ZooError) as e:
        parse_config({"search": {"epsilons": []}})
    assert "\n" not in str(e.value)
    with pytest.raises(ZooError, match="stage"):
        parse_config({"stage": "everything"})
