"""LatentProjection: MobilePicasso's light module from the editor's latent to the upscaler's input latent.

It replaces the pixel round trip ``encode_sr(bicubic_up(decode_edit(z)))`` by a small conv net in
latent space: ``resize`` moves the edited latent onto the upscaler's latent grid (bicubic, a fixed
op), ``forward`` maps channels (editor's 4 -> upscaler's 16) with a linear 1x1 skip plus a few 3x3
convs. Its receptive field is ``num_layers + 1`` latent pixels, so context tiling is exact for it.
Imports only torch and diffusers (``zoo push`` ships it with the weights).
"""
from __future__ import annotations

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config


# ModelMixin and ConfigMixin named in the module: diffusers finds a saved class's loading methods there.
class LatentProjection(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(self, in_channels: int = 4, out_channels: int = 16, hidden_channels: int = 64,
                 num_layers: int = 2) -> None:
        super().__init__()
        self.skip = torch.nn.Conv2d(in_channels, out_channels, 1)
        layers: list = [torch.nn.Conv2d(in_channels, hidden_channels, 3, padding=1), torch.nn.SiLU()]
        for _ in range(num_layers - 1):
            layers += [torch.nn.Conv2d(hidden_channels, hidden_channels, 3, padding=1), torch.nn.SiLU()]
        self.body = torch.nn.Sequential(*layers)
        self.conv_out = torch.nn.Conv2d(hidden_channels, out_channels, 3, padding=1)
        torch.nn.init.zeros_(self.conv_out.weight)  # starts as the linear map; the convs learn the rest
        torch.nn.init.zeros_(self.conv_out.bias)

    @property
    def receptive_radius(self) -> int:
        """Latent pixels of context one output pixel depends on (each 3x3 conv adds one)."""
        return int(self.config.num_layers) + 1

    @staticmethod
    def resize(z: torch.Tensor, size: tuple) -> torch.Tensor:
        """The edited latent on the upscaler's latent grid (bicubic, no learned part)."""
        if tuple(z.shape[-2:]) == tuple(size):
            return z
        return torch.nn.functional.interpolate(z, size=tuple(int(s) for s in size), mode="bicubic", align_corners=False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = z.to(self.dtype)
        return self.skip(z) + self.conv_out(self.body(z))
