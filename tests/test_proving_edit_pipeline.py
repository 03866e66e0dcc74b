"""MiniEditPipeline: the stock InstructPix2Pix output when residual_output is off, x + D(z_edit) - D(z_x)
when on, for every batching the stock pipeline allows; the setting survives save / load."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import zoo
from zoo.proving import edits as E


@pytest.fixture(scope="module")
def pipe():
    torch.manual_seed(0)
    return zoo.load("mini-edit-tiny", pretrained=False, progress=False)


def _inputs(n=2):
    ds = E.edits("test", 32, n, seed=3)
    return [ds.pil(i)[0] for i in range(n)], [ds.instructions[i] for i in range(n)]


def _call(p, **kw):
    imgs, prompts = _inputs()
    kw = {"num_inference_steps": 2, "guidance_scale": 1.0, "image_guidance_scale": 1.0, "output_type": "pt", **kw}
    return p(prompt=prompts, image=imgs, generator=torch.Generator().manual_seed(1), **kw).images


def test_off_is_the_stock_pipeline(pipe):
    from diffusers import StableDiffusionInstructPix2PixPipeline

    stock = StableDiffusionInstructPix2PixPipeline(**{k: v for k, v in pipe.components.items()},
                                                   requires_safety_checker=False)
    pipe.register_to_config(residual_output=False)
    try:
        ours = _call(pipe)
    finally:
        pipe.register_to_config(residual_output=True)
    assert torch.equal(ours, _call(stock))


def test_on_adds_back_what_the_vae_drops(pipe):
    imgs, _ = _inputs()
    lat = _call(pipe, output_type="latent")  # the edited latent, as the stock pipeline returns it
    x = pipe.image_processor.preprocess(imgs)
    vae = pipe.vae
    with torch.no_grad():
        z_x = vae.encode(x).latent_dist.mode()
        want = (x + vae.decode(lat / vae.config.scaling_factor).sample - vae.decode(z_x).sample).clamp(-1, 1)
    got = _call(pipe)
    assert torch.allclose(got, (want + 1) / 2, atol=1e-5)
    # and it differs from the plain decode (the tiny random VAE is far from lossless)
    assert not torch.allclose(got, (vae.decode(lat / vae.config.scaling_factor).sample.clamp(-1, 1) + 1) / 2, atol=1e-3)


@pytest.mark.parametrize("kw", [{"guidance_scale": 3.0, "image_guidance_scale": 1.5}, {"num_images_per_prompt": 2}])
def test_guidance_and_several_images_per_prompt(pipe, kw):
    out = _call(pipe, output_type="np", **kw)
    assert out.shape == (2 * kw.get("num_images_per_prompt", 1), 32, 32, 3) and np.isfinite(out).all()


def test_setting_survives_save_and_load(pipe, tmp_path):
    from zoo_proving.edit_pipeline import MiniEditPipeline

    pipe.register_to_config(residual_output=False)
    try:
        pipe.save_pretrained(tmp_path)
    finally:
        pipe.register_to_config(residual_output=True)
    back = MiniEditPipeline.from_pretrained(tmp_path)
    assert back.config.residual_output is False and type(back) is MiniEditPipeline


def test_the_spec_declares_it_as_a_choice():
    spec = zoo.get_spec("mini-edit")
    assert spec.config["pipeline_kwargs"]["residual_output"] is True
    assert "output" in spec.choices and "residual_output" in spec.choices["output"].field
