"""Minimal models for the export tests: the smallest diffusers UNet that still has a
cross-attention block, wrapped in a spec, so export paths run in seconds on 2 cores."""
from __future__ import annotations

from zoo import ComponentSpec, ModelSpec

UNET_INPUTS = {"sample": [1, 4, 8, 8], "timestep": [1], "encoder_hidden_states": [1, 8, 16]}


def mini_unet():
    import diffusers

    return diffusers.UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, down_block_types=["CrossAttnDownBlock2D"],
        up_block_types=["CrossAttnUpBlock2D"], block_out_channels=[16], layers_per_block=1, cross_attention_dim=16,
        attention_head_dim=4, norm_num_groups=8, mid_block_type=None,
    ).eval()


def mini_unet_spec() -> ModelSpec:
    return ModelSpec(
        id="mini-unet", family="mini", summary="one-block UNet for export tests", task="component",
        components=[ComponentSpec(name="unet", class_name="UNet2DConditionModel", inputs=UNET_INPUTS)],
        export_targets=["onnx", "coreml", "qnn"],
    )


def tiny_conv():
    """Conv -> SiLU -> Conv: exports in about a second, for tests of the export plumbing."""
    import torch

    class TinyConv(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = torch.nn.Conv2d(4, 8, 3, padding=1), torch.nn.Conv2d(8, 4, 3, padding=1)

        def forward(self, sample):
            return self.b(torch.nn.functional.silu(self.a(sample)))

    torch.manual_seed(0)
    return TinyConv().eval()


def tiny_conv_spec() -> ModelSpec:
    return ModelSpec(
        id="tiny-conv", family="tiny", summary="two convolutions for export plumbing tests", task="component",
        components=[ComponentSpec(name="unet", class_name="TinyConv", inputs={"sample": [1, 4, 8, 8]})],
        export_targets=["onnx", "coreml", "qnn"],
    )
