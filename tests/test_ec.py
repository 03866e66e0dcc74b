"""EC (zoo_ec): one denoiser call per step, the Gaussian fusion, seeds, full-size shapes on meta."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import zoo

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def tiny():
    pipe = zoo.load("ec-tiny", pretrained=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _image(seed=0):
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (32, 32, 3), dtype=np.uint8))


@pytest.mark.parametrize("steps", [1, 4])
def test_one_denoiser_call_per_step(tiny, steps):
    calls = []
    h = tiny.unet.register_forward_hook(lambda m, a, o: calls.append(a[0].shape[0]))
    try:
        tiny(["make it brighter", "invert the colors"], image=[_image(0), _image(1)], num_inference_steps=steps,
             generator=torch.Generator().manual_seed(0), output_type="np")
    finally:
        h.remove()
    assert calls == [2] * steps  # one pass per step over the batch: no guidance branches


def test_unet_sees_four_channels_and_text(tiny):
    assert tiny.unet.config.in_channels == 4
    assert tiny.unet.config.cross_attention_dim == tiny.text_encoder.config.hidden_size


def _fuse(pv, fusion, a, va, b, lvb):
    pv.register_to_config(fusion=fusion)
    return pv.fuse(a, va, b, lvb)


def test_fusion_sum_and_product():
    from zoo_ec import PromptVAE

    pv = PromptVAE(pooled_dim=8, latent_size=4, base_size=4, hidden_channels=4)
    a, va = torch.full((1, 4, 4, 4), 1.0), torch.full((1, 4, 4, 4), 1.0)
    b, lvb = torch.full((1, 4, 4, 4), 3.0), torch.full((1, 4, 4, 4), float(np.log(3.0)))
    m, s = _fuse(pv, "sum", a, va, b, lvb)
    assert torch.allclose(m, torch.tensor(4.0)) and torch.allclose(s, torch.tensor(2.0))
    m, s = _fuse(pv, "product", a, va, b, lvb)  # precisions 1 and 1/3: var 3/4, mean 3/4 * (1 + 1) = 1.5
    assert torch.allclose(m, torch.tensor(1.5)) and torch.allclose(s**2, torch.tensor(0.75))
    with torch.no_grad():
        pv.log_var_scale.fill_(float(np.log(2.0)))
    assert torch.allclose(_fuse(pv, "product", a, va, b, lvb)[1] ** 2, torch.tensor(1.5))
    with pytest.raises(ValueError):
        PromptVAE(fusion="mean")


def test_seeds_change_the_sample_and_repeat(tiny):
    def run(seed):
        return tiny("blur the photo", image=_image(), num_inference_steps=2, generator=torch.Generator().manual_seed(seed),
                    output_type="np").images

    a, b, c = run(0), run(1), run(0)
    np.testing.assert_array_equal(a, c)
    assert np.abs(a - b).max() > 1e-3


def test_user_errors(tiny):
    with pytest.raises(zoo.ZooError):
        tiny("blur the photo", image=None)
    with pytest.raises(zoo.ZooError):
        tiny("blur the photo", image=_image(), num_inference_steps=0)


@pytest.mark.parametrize("model_id,params_m", [("ec-sd15", 859.52), ("ec-nanosd-m", 315.23)])
def test_full_size_on_meta(model_id, params_m):
    pipe = zoo.build(model_id, device="meta")
    assert pipe.unet.config.in_channels == 4
    assert round(sum(p.numel() for p in pipe.unet.parameters()) / 1e6, 2) == params_m
    assert pipe.prompt_vae.config.latent_size == 64 and pipe.prompt_vae.config.pooled_dim == 768


def test_train_loss_falls_and_saves(tmp_path):
    from zoo_ec.train import train_ec

    spec = zoo.get_spec("ec-tiny")
    pipe = train_ec(spec, {"steps": 40, "batch": 8, "samples": 28, "lr": 3e-3, "progress": False}, save=False)
    losses = pipe._zoo_training["losses"]
    assert np.mean(losses[-8:]) < 0.7 * np.mean(losses[:8]), losses
    out = train_ec(spec, {"steps": 1, "batch": 2, "samples": 7, "progress": False, "out_dir": str(tmp_path / "ec")})
    assert (out / "prompt_vae" / "diffusion_pytorch_model.safetensors").is_file()
    with pytest.raises(zoo.ZooError):
        train_ec(spec, {"stepz": 1, "out_dir": str(tmp_path / "x")})
