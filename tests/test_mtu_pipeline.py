"""MTU's pipeline and classes: ``pipe(prompt, image=..., task=...)`` selects router task, conv_in and
condition per call, with one-line errors; NanoSD's UNet becomes MTUNanoSDUNet (taken from the built
model, no import of zoo_nanosd) and round-trips through save_pretrained / from_pretrained."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import zoo
import zoo_mtu


def _photo_and_mask():
    photo = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    mask = np.zeros((64, 64), np.uint8)
    mask[16:48, 16:48] = 255
    return photo, mask


def _perturb(unet, seed=1):
    """Trained-like routers and conv_in (the step-0 router is uniform, the condition weights zero)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in unet.modules():
            if type(m).__name__ == "MTUFeedForward":
                m.task_embed.weight.copy_(torch.randn(m.task_embed.weight.shape, generator=g))
                m.router[2].weight.copy_(torch.randn(m.router[2].weight.shape, generator=g))
        for conv in unet.conv_in.convs.values():
            conv.weight.add_(0.1 * torch.randn(conv.weight.shape, generator=g))


@pytest.fixture(scope="module")
def pipe():
    torch.manual_seed(0)
    return zoo.load("mtu-tiny", pretrained=False)


def test_task_argument_runs_each_task_and_declares_the_tasks(pipe):
    assert type(pipe).__name__ == zoo.get_spec("mtu-tiny").pipeline_class == "MTUStableDiffusionPipeline"
    assert type(pipe).TASKS == ("t2i", "edit", "sr", "inpaint") and set(pipe.tasks) == set(type(pipe).TASKS)
    assert pipe.task == pipe.tasks[0] == "edit"  # a model starts in its first task
    photo, mask = _photo_and_mask()
    for task, kw, side in (("t2i", {}, 64), ("edit", {"image": photo}, 64),
                           ("inpaint", {"image": photo, "mask_image": mask}, 64),
                           ("sr", {"image": photo[::4, ::4]}, 64), ("sr", {"image": photo[::8, ::8]}, 32)):
        img = pipe("a photo", task=task, num_inference_steps=1, output_type="np", **kw).images
        assert img.shape == (1, side, side, 3) and np.isfinite(img).all(), task  # sr: 4x the input's side
        assert pipe.task == task
    two = pipe(["a", "b"], image=[photo, photo[::-1]], task="edit", num_images_per_prompt=2, num_inference_steps=1,
               output_type="np").images
    assert two.shape == (4, 64, 64, 3)


def test_task_selects_router_conv_in_and_condition(pipe):
    import copy

    p = copy.deepcopy(pipe)
    _perturb(p.unet)
    photo, mask = _photo_and_mask()

    def run(**kw):
        return torch.from_numpy(p("a photo", num_inference_steps=1, output_type="np",
                                  generator=torch.Generator().manual_seed(0), **kw).images)

    t2i, edit, edit_flipped = run(task="t2i"), run(task="edit", image=photo), run(task="edit", image=photo[:, ::-1])
    inpaint = run(task="inpaint", image=photo, mask_image=mask)
    assert (t2i - edit).abs().max() > 1e-3 and (edit - edit_flipped).abs().max() > 1e-3
    assert (edit - inpaint).abs().max() > 1e-3
    torch.testing.assert_close(run(), inpaint)  # no task=: the current task and its condition
    torch.testing.assert_close(run(task="t2i"), t2i)  # back to t2i: the condition is dropped
    # inpaint's condition is the photo with the masked pixels at 0 in [-1, 1] (mid-gray), no mask channel
    from zoo_mtu.conditions import condition_pixels

    x = condition_pixels("inpaint", photo, mask)
    assert x[0, :, 20, 20].abs().max() == 0 and torch.allclose(x[0, :, 2, 2], torch.from_numpy(photo[2, 2] / 127.5 - 1).float())


def test_task_argument_errors_are_one_line(pipe):
    photo, mask = _photo_and_mask()
    cases = [({"task": "colorize"}, "unknown MTU task 'colorize'.*edit, t2i, sr, inpaint"),
             ({"task": "edit"}, "task 'edit' needs image="), ({"task": "sr"}, "task 'sr' needs image="),
             ({"task": "inpaint", "image": photo}, "needs mask_image="),
             ({"task": "t2i", "image": photo}, "prompt alone"),
             ({"task": "edit", "image": photo, "mask_image": mask}, "mask_image= is for task 'inpaint'"),
             ({"task": "edit", "image": [photo, photo, photo]}, "3 images for 1 prompts"),
             ({"task": "edit", "image": photo[..., :2]}, "RGB image")]
    for kw, msg in cases:
        with pytest.raises(zoo.ZooError, match=msg) as err:
            pipe("a photo", num_inference_steps=1, **kw)
        assert "\n" not in str(err.value)


def test_nanosd_mtu_unet_save_load_round_trip(tmp_path):
    up = zoo.load("nanosd-tiny", pretrained=False, techniques={"mtu": {"experts": 2}})
    base_cls = type(zoo.build("nanosd-tiny", device="meta").unet)
    assert type(up.unet).__name__ == "MTUNanoSDUNet" and isinstance(up.unet, base_cls)
    assert type(up.unet) is zoo_mtu.mtu_unet_class(base_cls) and type(up).__name__ == "MTUStableDiffusionPipeline"
    _perturb(up.unet)
    c = up.unet.config
    g = torch.Generator().manual_seed(0)
    x, t = torch.randn(2, 4, c.sample_size, c.sample_size, generator=g), torch.tensor([10, 700])
    e, cond = torch.randn(2, 77, c.cross_attention_dim, generator=g), torch.randn(1, 4, c.sample_size, c.sample_size)
    up.unet.set_task("inpaint", cond)
    up.unet.save_pretrained(tmp_path / "unet")
    back = type(up.unet).from_pretrained(tmp_path / "unet")
    assert back.config.mtu_experts == 2 and back.tasks == up.unet.tasks
    assert set(back.state_dict()) == set(up.unet.state_dict())
    back.set_task("inpaint", cond)
    with torch.no_grad():
        ref = up.unet(x, t, e).sample
        torch.testing.assert_close(back(x, t, e).sample, ref)
    folded = zoo_mtu.fold(up, "inpaint")
    assert type(folded) is base_cls and folded.config.in_channels == 8 and "mtu_experts" not in folded.config
    up.save_pretrained(tmp_path / "pipe")
    assert json.loads((tmp_path / "pipe" / "model_index.json").read_text())["unet"] == ["zoo_mtu", "MTUNanoSDUNet"]
    loaded = type(up).from_pretrained(tmp_path / "pipe")
    loaded.unet.set_task("inpaint", cond)
    with torch.no_grad():
        torch.testing.assert_close(loaded.unet(x, t, e).sample, ref)


def test_resolving_an_mtu_class_by_name():
    from zoo_mtu.classes import resolve_class

    assert resolve_class("MTUUNet2DConditionModel") is zoo_mtu.MTUUNet2DConditionModel
    with pytest.raises(AttributeError, match="MTUNoSuchUNet"):
        resolve_class("MTUNoSuchUNet")
