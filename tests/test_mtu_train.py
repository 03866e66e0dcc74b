"""MTU's multi-task trainer on the proving ground (mtu-tiny, a few steps): the per-task loss on
fixed items falls, only MTU's modules change, the routers move apart per task, and the run saves."""
from __future__ import annotations

import pytest
import torch

import zoo
import zoo_mtu
from zoo_mtu.train import parse_config, train


def test_multitask_loss_falls_and_only_mtu_modules_train(tmp_path):
    torch.manual_seed(0)
    pipe = zoo.load("mtu-tiny", pretrained=False)
    frozen = {n: p.detach().clone() for n, p in pipe.unet.named_parameters() if not p.requires_grad}
    cfg = parse_config({"tasks": ["edit", "sr", "inpaint"], "size": 64, "count": 4, "steps": 12, "batch_size": 2,
                        "lr": 3e-3, "progress": False, "out": tmp_path / "run"})
    log = train(pipe, cfg)
    before, after = log["loss_before"], log["loss_after"]
    assert sum(after.values()) < 0.9 * sum(before.values()), (before, after)
    assert all(torch.equal(p, frozen[n]) for n, p in pipe.unet.named_parameters() if n in frozen)
    ff = next(m for m in pipe.unet.modules() if type(m).__name__ == "MTUFeedForward")
    assert not torch.allclose(ff.weights("edit"), ff.weights("sr"))
    from diffusers import StableDiffusionPipeline

    loaded = StableDiffusionPipeline.from_pretrained(tmp_path / "run")
    assert type(loaded.unet).__name__ == "MTUUNet2DConditionModel"
    torch.testing.assert_close(loaded.unet.state_dict()["conv_in.convs.sr.weight"],
                               pipe.unet.state_dict()["conv_in.convs.sr.weight"])
    assert log["out"] == tmp_path / "run" and (tmp_path / "run" / "training.json").exists()


def test_train_config_errors():
    with pytest.raises(zoo.ZooError, match="tasks"):
        parse_config({"tasks": ["edit", "paint"]})
    with pytest.raises(zoo.ZooError, match="task_weights"):
        parse_config({"tasks": ["edit"], "task_weights": {"sr": 1.0}})
    with pytest.raises(zoo.ZooError, match="steps"):
        parse_config({"steps": 0})
    with pytest.raises(zoo.ZooError, match="not MTU-upcycled"):
        train(zoo.load("sd15-tiny", pretrained=False), parse_config({"steps": 1}))
    assert zoo_mtu.TASKS == ("t2i", "edit", "sr", "inpaint")
