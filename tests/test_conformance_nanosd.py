"""NanoSDUNet does what UNet2DConditionModel does: with every block original it is diffusers' own
3-stage UNet (no mid block), and under each diffusers feature the two stay identical."""
from __future__ import annotations

import copy

import pytest
import torch

import zoo

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def pair():
    from diffusers import UNet2DConditionModel
    from zoo_nanosd.unet import NanoSDUNet

    cfg = dict(zoo.get_spec("sd15-tiny").config["components"]["unet"]["config"])
    cfg.update(block_out_channels=cfg["block_out_channels"][:3], down_block_types=["CrossAttnDownBlock2D"] * 3,
               up_block_types=["CrossAttnUpBlock2D"] * 3, mid_block_type=None)
    torch.manual_seed(0)
    ref = UNet2DConditionModel(**cfg).eval()
    return ref, NanoSDUNet.from_teacher(ref).eval()


def _fused(m):
    from diffusers.models.attention_processor import FusedAttnProcessor2_0

    m.fuse_qkv_projections()
    m.set_attn_processor(FusedAttnProcessor2_0())  # as StableDiffusionPipeline.fuse_qkv_projections does


def _lora(m):
    from zoo.conformance import lora_state_dict

    m.load_lora_adapter(lora_state_dict(m), prefix=None, adapter_name="x")


def _ip_adapter(m):
    from zoo.conformance import ip_adapter_state_dict

    m._load_ip_adapter_weights([ip_adapter_state_dict(m, embed_dim=8)])


FEATURES = {
    "plain": (lambda m: None, {}),
    "freeu": (lambda m: m.enable_freeu(s1=0.9, s2=0.2, b1=1.2, b2=1.4), {}),
    "attention_slicing": (lambda m: m.set_attention_slice(1), {}),
    "default_processor": (lambda m: m.set_default_attn_processor(), {}),
    "fused_qkv": (_fused, {}),
    "lora_at_half_scale": (_lora, {"cross_attention_kwargs": {"scale": 0.5}}),
    "ip_adapter": (_ip_adapter, {"added_cond_kwargs": {"image_embeds": [torch.randn(2, 1, 8, generator=torch.Generator().manual_seed(2))]}}),
}


@pytest.mark.parametrize("feature", list(FEATURES))
def test_nanosd_unet_matches_unet2dcondition_under(pair, feature):
    setup, kwargs = FEATURES[feature]
    ref, nano = (copy.deepcopy(m) for m in pair)
    setup(ref)
    setup(nano)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 4, 8, 8, generator=g)
    ehs = torch.randn(2, 77, ref.config.cross_attention_dim, generator=g)
    t = torch.tensor([3, 700])
    with torch.no_grad():
        want = ref(x, t, ehs, **copy.deepcopy(kwargs)).sample
        got = nano(x, t, ehs, **copy.deepcopy(kwargs)).sample
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5)
