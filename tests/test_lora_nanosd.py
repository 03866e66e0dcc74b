"""A LoRA trained on nanosd-tiny with diffusers + PEFT, saved as safetensors, is what a user
brings: it loads into a fresh pipeline with load_lora_weights, changes the output, and
unload_lora_weights restores the output exactly."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.filterwarnings("ignore")

TARGETS = ["to_q", "to_k", "to_v", "to_out.0"]


def _latents(pipe, scale=None):
    import torch

    kw = {"cross_attention_kwargs": {"scale": scale}} if scale is not None else {}
    with torch.no_grad():
        return pipe("a red apple", num_inference_steps=2, height=64, width=64, output_type="latent",
                    generator=torch.Generator().manual_seed(0), **kw).images


def _train_lora(pipe, steps: int = 4) -> tuple[dict, list]:
    """A few denoising-loss steps on the UNet's LoRA only, as diffusers' train_text_to_image_lora does."""
    import torch
    import torch.nn.functional as F
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    unet = pipe.unet
    unet.requires_grad_(False)
    unet.add_adapter(LoraConfig(r=4, lora_alpha=4, init_lora_weights="gaussian", target_modules=TARGETS))
    params = [p for p in unet.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=5e-2)
    with torch.no_grad():
        emb = pipe.encode_prompt("a red apple", "cpu", 1, False)[0].expand(2, -1, -1)
    g = torch.Generator().manual_seed(1)
    losses = []
    unet.train()
    for _ in range(steps):
        latents = torch.randn(2, 4, 8, 8, generator=g)
        noise = torch.randn(latents.shape, generator=g)
        t = torch.randint(0, pipe.scheduler.config.num_train_timesteps, (2,), generator=g)
        loss = F.mse_loss(unet(pipe.scheduler.add_noise(latents, noise, t), t, emb).sample, noise)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(float(loss))
    unet.eval()
    return convert_state_dict_to_diffusers(get_peft_model_state_dict(unet)), losses


def test_trained_lora_loads_changes_and_unloads_exactly(tmp_path):
    import torch
    from diffusers import StableDiffusionPipeline
    from safetensors.torch import load_file

    import zoo

    torch.manual_seed(0)
    trained = zoo.build("nanosd-tiny")
    lora, losses = _train_lora(trained)
    assert all(torch.isfinite(torch.tensor(losses)))
    assert any(float(v.abs().max()) > 0 for k, v in lora.items() if "lora_B" in k or "lora.up" in k)  # it learned

    StableDiffusionPipeline.save_lora_weights(str(tmp_path), unet_lora_layers=lora, safe_serialization=True)
    saved = load_file(tmp_path / "pytorch_lora_weights.safetensors")
    assert saved and all(k.startswith("unet.") for k in saved)

    torch.manual_seed(0)
    fresh = zoo.build("nanosd-tiny")  # same seed: the same base weights the LoRA was trained on
    before = _latents(fresh)
    fresh.load_lora_weights(str(tmp_path))
    with_lora = _latents(fresh)
    assert float((with_lora - before).abs().max()) > 1e-3
    torch.testing.assert_close(with_lora, _latents(trained), rtol=0, atol=1e-5)  # the LoRA survived the file
    torch.testing.assert_close(_latents(fresh, scale=0.0), before, rtol=0, atol=1e-6)  # LoRA scale reaches it

    fresh.unload_lora_weights()
    assert not any(hasattr(m, "lora_A") for m in fresh.unet.modules())
    assert torch.equal(_latents(fresh), before)
