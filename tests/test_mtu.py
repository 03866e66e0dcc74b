"""MTU: step-0 equality with the original UNet, folding equality, save/load, set_task and
errors (tiny models); per-task params and MACs at full size on the meta device (sd15)."""
from __future__ import annotations

import copy

import pytest
import torch

import zoo
import zoo_mtu


def _inputs(in_ch=4, batch=2, size=8, text=32):
    g = torch.Generator().manual_seed(0)
    return (torch.randn(batch, in_ch, size, size, generator=g), torch.tensor([10, 700][:batch]),
            torch.randn(batch, 77, text, generator=g))


def _perturb_routers(unet):
    """Trained-like routers: non-uniform, different per task (the step-0 router is uniform)."""
    g = torch.Generator().manual_seed(1)
    for m in unet.modules():
        if type(m).__name__ == "MTUFeedForward":
            m.task_embed.weight.data = torch.randn(m.task_embed.weight.shape, generator=g)
            m.router[2].weight.data = torch.randn(m.router[2].weight.shape, generator=g)


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return zoo.build("sd15-tiny")


def test_step0_reproduces_the_original_for_t2i_and_conditioned_tasks(tiny):
    up = zoo_mtu.apply(copy.deepcopy(tiny))
    x, t, e = _inputs()
    with torch.no_grad():
        ref = tiny.unet(x, t, e).sample
        out = up.unet(x, t, e).sample
        zoo_mtu.set_task(up.unet, "sr", image=torch.randn(1, 4, 8, 8))
        cond_out = up.unet(x, t, e).sample  # zero-initialised condition channels: ignored at step 0
    assert type(up.unet).__name__ == "MTUUNet2DConditionModel"
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(cond_out, ref, rtol=1e-5, atol=1e-5)


def test_upcycled_structure_and_frozen_parts(tiny):
    up = zoo_mtu.apply(copy.deepcopy(tiny), {"experts": 2})
    ffs = [m for m in up.unet.modules() if type(m).__name__ == "MTUFeedForward"]
    assert ffs and all(len(f.experts) == 2 for f in ffs)
    inner = tiny.unet.down_blocks[0].attentions[0].transformer_blocks[0].ff.net[2].in_features
    assert ffs[0].experts[0].out.in_features == inner // 2
    trainable = {n.split(".")[-3] if "convs" in n else n for n, p in up.unet.named_parameters() if p.requires_grad}
    assert not any(k in n for n in trainable for k in ("attn1", "attn2", "resnets", "time_embedding", "conv_out"))
    assert any(".ff.experts." in n for n in trainable) and any("norm3.norms.edit" in n for n in trainable)
    assert up.unet.conv_in.convs["edit"].in_channels == 8 and up.unet.conv_in.convs["t2i"].in_channels == 4


def test_fold_equals_routed_output_per_task_and_routers_differ(tiny):
    up = zoo_mtu.apply(copy.deepcopy(tiny))
    _perturb_routers(up.unet)
    x, t, e = _inputs()
    cond = torch.randn(1, 4, 8, 8)
    outs = {}
    for task in ("t2i", "edit", "sr", "inpaint"):
        zoo_mtu.set_task(up.unet, task, image=None if task == "t2i" else cond)
        folded = zoo_mtu.fold(up, task)
        assert type(folded).__name__ == "UNet2DConditionModel"
        assert not any("MTU" in type(m).__name__ or "Task" in type(m).__name__ for m in folded.modules())
        xin = x if task == "t2i" else torch.cat([x, cond.repeat(2, 1, 1, 1)], 1)
        assert folded.config.in_channels == xin.shape[1]
        with torch.no_grad():
            routed = up.unet(x, t, e).sample
            outs[task] = routed
            torch.testing.assert_close(folded(xin, t, e).sample, routed, rtol=1e-4, atol=1e-5)
    ff = next(m for m in up.unet.modules() if type(m).__name__ == "MTUFeedForward")
    assert not torch.allclose(ff.weights("edit"), ff.weights("sr"))


def test_save_load_keeps_the_mtu_modules(tiny, tmp_path):
    from diffusers import UNet2DConditionModel

    up = zoo_mtu.apply(copy.deepcopy(tiny))
    _perturb_routers(up.unet)
    cond = torch.randn(1, 4, 8, 8)
    zoo_mtu.set_task(up.unet, "edit", image=cond)
    x, t, e = _inputs()
    up.unet.save_pretrained(tmp_path / "mtu")
    back = type(up.unet).from_pretrained(tmp_path / "mtu")
    back.set_task("edit", cond)
    folded = zoo_mtu.fold(up, "edit")
    folded.save_pretrained(tmp_path / "folded")
    plain = UNet2DConditionModel.from_pretrained(tmp_path / "folded")  # stock diffusers reads the folded UNet
    xin = torch.cat([x, cond.repeat(2, 1, 1, 1)], 1)
    with torch.no_grad():
        ref = up.unet(x, t, e).sample
        torch.testing.assert_close(back(x, t, e).sample, ref)
        torch.testing.assert_close(plain(xin, t, e).sample, ref, rtol=1e-4, atol=1e-5)


def test_user_errors_are_one_line_zoo_errors(tiny):
    with pytest.raises(zoo.ZooError, match="experts"):
        zoo_mtu.apply(copy.deepcopy(tiny), {"experts": 0})
    with pytest.raises(zoo.ZooError, match="tasks"):
        zoo_mtu.apply(copy.deepcopy(tiny), {"tasks": ["t2i", "paint"]})
    up = zoo_mtu.apply(copy.deepcopy(tiny))
    with pytest.raises(zoo.ZooError, match="already"):
        zoo_mtu.apply(up)
    with pytest.raises(zoo.ZooError, match="unknown MTU task 'colorize'.*t2i, edit, sr, inpaint"):
        zoo_mtu.set_task(up, "colorize")
    with pytest.raises(zoo.ZooError, match="needs image"):
        zoo_mtu.set_task(up, "edit")
    with pytest.raises(zoo.ZooError, match="not MTU-upcycled"):
        zoo_mtu.set_task(tiny, "t2i")
    with pytest.raises(zoo.ZooError, match="does not apply"):
        zoo.load("dit-xl-2-256-tiny", pretrained=False, techniques={"mtu": {}})


def test_technique_through_zoo_load_on_nanosd_tiny():
    base = zoo.load("nanosd-tiny", pretrained=False)
    up = zoo.load("nanosd-tiny", pretrained=False, techniques={"mtu": {"experts": 2}})
    up.unet.load_state_dict(base.unet.state_dict(), strict=False)  # same random base weights
    zoo_mtu.apply(base)  # upcycle the base too, from its own weights
    c = base.unet.config
    x, t, e = _inputs(size=c.sample_size, text=c.cross_attention_dim)
    ffs = [m for m in base.unet.modules() if type(m).__name__ == "MTUFeedForward"]
    assert ffs, "NanoSD's custom UNet has transformer blocks to upcycle"
    zoo_mtu.set_task(base.unet, "edit", image=torch.randn(1, 4, c.sample_size, c.sample_size))
    with torch.no_grad():
        routed = base.unet(x, t, e).sample
        folded = zoo_mtu.fold(base, "edit")
        xin = torch.cat([x, base.unet._mtu_state.cond.repeat(2, 1, 1, 1)], 1)
        torch.testing.assert_close(folded(xin, t, e).sample, routed, rtol=1e-4, atol=1e-5)


def _meta_profile(unet, in_ch):
    from zoo.evaluate.macs import profile_module

    inputs = {"sample": torch.empty(1, in_ch, 64, 64, device="meta"), "timestep": torch.tensor([1], device="meta"),
              "encoder_hidden_states": torch.empty(1, 77, 768, device="meta")}
    unet.requires_grad_(False)  # a cost count needs no gradients
    with torch.no_grad():
        return profile_module(unet, inputs, mode="meta")


def test_full_size_sd15_per_task_params_and_gmacs_equal_single_task_meta():
    """Full-size SD1.5 at 512^2 on the meta device: the routed model running one task and the folded
    per-task UNet cost what the single-task UNet costs, within 1% (params used and MACs)."""
    base = zoo.build("sd15", device="meta").unet
    p0, m0 = _meta_profile(base, 4)
    assert m0.total > 390e9  # attention counted (SD1.5 at 512^2: 401.6 GMACs)
    up = zoo_mtu.apply(copy.deepcopy(base))
    for task in ("t2i", "edit"):
        zoo_mtu.set_task(up, task, image=None if task == "t2i" else torch.empty(1, 4, 64, 64, device="meta"))
        p1, m1 = _meta_profile(up, 4)
        p2, m2 = _meta_profile(zoo_mtu.fold(up, task), 4 if task == "t2i" else 8)
        assert abs(p1 - p0) / p0 < 0.01 and abs(p2 - p0) / p0 < 0.01, (task, p0, p1, p2)
        assert abs(m1.total - m0.total) / m0.total < 0.01 and abs(m2.total - m0.total) / m0.total < 0.01, task


@pytest.mark.slow  # an ONNX export with parity check: ~70 s on the shared 2-core VM
def test_export_per_task_through_the_core_exporter(tmp_path):
    import onnx

    from zoo.export import export

    pipe = zoo.load("mtu-tiny", pretrained=False)
    zoo_mtu.set_task(pipe, "edit", image=torch.zeros(1, 3, 64, 64))
    paths = export(pipe, target="onnx", components=["unet"], out_dir=tmp_path, progress=False)
    model_files = [p for p in paths if str(p).endswith(".onnx")]
    assert model_files and all("mtu-tiny.edit-onnx-fp32" in str(p) for p in model_files)
    graph = onnx.load(str(model_files[0]), load_external_data=False).graph
    sample = next(i for i in graph.input if i.name == "sample")
    assert sample.type.tensor_type.shape.dim[1].dim_value == 8  # the edit task's conv_in
    assert pipe.unet.task == "edit" and type(pipe.unet).__name__ == "MTUUNet2DConditionModel"  # pipe untouched
