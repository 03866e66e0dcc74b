"""NanoSD's tiny VAE: fixed-width residual encoder/decoder in SD1.5's latent space.

[paper] fixed-width 64-channel residual blocks, same spatial sizes as SD1.5's KL-VAE (f=8),
4 latent channels, same scaling factor (0.18215), encoder ~2M and decoder ~1.3M params.
[choice] the block layout: diffusers ResnetBlock2D (GroupNorm-SiLU-conv3x3 twice + identity),
no attention (NPU-friendly), stride-2 conv down / nearest+conv up, and the depth per level
listed from full resolution down: encoder (1, 2, 4, 18) = 1.97M params, decoder (1, 2, 3, 10)
= 1.30M, most blocks at the latent resolution where they cost the fewest MACs. The encoder
predicts mean and log-variance like SD's (so ``||mu_t-mu_s||^2 + ||sigma_t-sigma_s||^2``
applies).

API as AutoencoderKL where StableDiffusionPipeline uses it: ``encode(x).latent_dist``,
``decode(z).sample`` (``generator`` accepted), ``config.scaling_factor``, and
``config.block_out_channels`` (its length - 1 gives the pipeline's vae_scale_factor 2**3 = 8);
and as AutoencoderKL for memory: ``enable_slicing()`` (one image of a batch at a time) and
``enable_tiling()`` (images larger than ``config.sample_size`` in overlapping tiles of that
size, overlap a quarter tile as AutoencoderKL's, blended by ``zoo.tiling``). No attention, so
nothing to fuse or slice in attention.

``zoo.tiling`` is imported by ``enable_tiling()``, not at module level: this file is shipped
alone with pushed weights (``zoo.remote_code``) and must load where the zoo is not installed;
there, ``enable_tiling()`` says tiling needs the zoo.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.autoencoders.vae import AutoencoderMixin, DecoderOutput, DiagonalGaussianDistribution
from diffusers.models.modeling_outputs import AutoencoderKLOutput
from diffusers.models.modeling_utils import ModelMixin
from diffusers.models.resnet import Downsample2D, ResnetBlock2D, Upsample2D
from torch import nn

from zoo import ZooError


def _block(cin: int, cout: int, groups: int, act: str) -> nn.Module:
    return ResnetBlock2D(in_channels=cin, out_channels=cout, temb_channels=None, groups=groups, eps=1e-6,
                         dropout=0.0, non_linearity=act)


class TinyEncoder(nn.Module):
    def __init__(self, in_channels: int, latent_channels: int, widths: Sequence[int], layers: Sequence[int],
                 groups: int, act: str) -> None:
        super().__init__()
        self.conv_in = nn.Conv2d(in_channels, widths[0], 3, padding=1)
        self.levels = nn.ModuleList()
        self.downsamplers = nn.ModuleList()
        prev = widths[0]
        for lvl, (w, n) in enumerate(zip(widths, layers)):
            self.levels.append(nn.ModuleList([_block(prev if j == 0 else w, w, groups, act) for j in range(n)]))
            prev = w
            if lvl < len(widths) - 1:
                self.downsamplers.append(Downsample2D(w, use_conv=True, out_channels=widths[lvl + 1], padding=1, name="op"))
                prev = widths[lvl + 1]
        self.norm_out = nn.GroupNorm(groups, prev, eps=1e-6)
        self.act = nn.SiLU()
        self.conv_out = nn.Conv2d(prev, 2 * latent_channels, 3, padding=1)  # mean and log-variance

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv_in(x)
        for lvl, blocks in enumerate(self.levels):
            for b in blocks:
                h = b(h, None)
            if lvl < len(self.downsamplers):
                h = self.downsamplers[lvl](h)
        return self.conv_out(self.act(self.norm_out(h)))


class TinyDecoder(nn.Module):
    def __init__(self, out_channels: int, latent_channels: int, widths: Sequence[int], layers: Sequence[int],
                 groups: int, act: str) -> None:
        super().__init__()
        widths, layers = list(widths)[::-1], list(layers)[::-1]  # run from the latent resolution up
        self.conv_in = nn.Conv2d(latent_channels, widths[0], 3, padding=1)
        self.levels = nn.ModuleList()
        self.upsamplers = nn.ModuleList()
        prev = widths[0]
        for lvl, (w, n) in enumerate(zip(widths, layers)):
            self.levels.append(nn.ModuleList([_block(prev if j == 0 else w, w, groups, act) for j in range(n)]))
            prev = w
            if lvl < len(widths) - 1:
                self.upsamplers.append(Upsample2D(w, use_conv=True, out_channels=widths[lvl + 1]))
                prev = widths[lvl + 1]
        self.norm_out = nn.GroupNorm(groups, prev, eps=1e-6)
        self.act = nn.SiLU()
        self.conv_out = nn.Conv2d(prev, out_channels, 3, padding=1)

    def forward(self, z: torch.Tensor, return_features: bool = False):
        """Image, and with ``return_features`` the output of each level's blocks (before its
        upsampler): resolutions f/8, f/4, f/2, f/1 of the image, for feature matching."""
        h = self.conv_in(z)
        feats = []
        for lvl, blocks in enumerate(self.levels):
            for b in blocks:
                h = b(h, None)
            feats.append(h)
            if lvl < len(self.upsamplers):
                h = self.upsamplers[lvl](h)
        img = self.conv_out(self.act(self.norm_out(h)))
        return (img, feats) if return_features else img


class NanoSDTinyVAE(ModelMixin, AutoencoderMixin, ConfigMixin):
    """Tiny VAE in SD1.5's latent space; drop-in for AutoencoderKL in StableDiffusionPipeline.

    ``block_out_channels`` and the two ``*_layers_per_block`` lists run from full resolution
    down (one entry per level; 4 levels = f8).
    """

    @register_to_config
    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        latent_channels: int = 4,
        block_out_channels: Sequence[int] = (64, 64, 64, 64),
        encoder_layers_per_block: Sequence[int] = (1, 2, 4, 18),
        decoder_layers_per_block: Sequence[int] = (1, 2, 3, 10),
        norm_num_groups: int = 32,
        act_fn: str = "silu",
        sample_size: int = 512,
        scaling_factor: float = 0.18215,
        force_upcast: bool = False,
    ) -> None:
        super().__init__()
        n = len(block_out_channels)
        if len(encoder_layers_per_block) != n or len(decoder_layers_per_block) != n:
            raise ZooError(f"NanoSDTinyVAE needs one encoder and one decoder depth per level ({n} levels), got "
                           f"{list(encoder_layers_per_block)} and {list(decoder_layers_per_block)}")
        bad = [w for w in block_out_channels if w % norm_num_groups]
        if bad:
            raise ZooError(f"widths {bad} are not divisible by norm_num_groups={norm_num_groups}")
        self.encoder = TinyEncoder(in_channels, latent_channels, block_out_channels, encoder_layers_per_block,
                                   norm_num_groups, act_fn)
        self.decoder = TinyDecoder(out_channels, latent_channels, block_out_channels, decoder_layers_per_block,
                                   norm_num_groups, act_fn)
        # AutoencoderMixin's enable_/disable_slicing and _tiling switch these
        self.use_slicing = False
        self.use_tiling = False
        self.tile_sample_min_size = sample_size
        self.tile_overlap_factor = 0.25
        self._tiled = None  # zoo.tiling.tiled, bound by enable_tiling()

    def enable_tiling(self) -> None:
        import importlib

        try:
            self._tiled = importlib.import_module("zoo.tiling").tiled
        except ImportError:
            raise ZooError("NanoSDTinyVAE tiling blends tiles with zoo.tiling: pip install ondevice-diffusion-zoo") from None
        self.use_tiling = True

    @property
    def downscale(self) -> int:
        return 2 ** (len(self.config.block_out_channels) - 1)

    def _check(self, x: torch.Tensor, what: str, channels: int, multiple: int) -> None:
        if x.ndim != 4 or x.shape[1] != channels:
            raise ZooError(f"NanoSDTinyVAE.{what} expects a [B, {channels}, H, W] tensor, got {list(x.shape)}")
        if x.shape[-1] % multiple or x.shape[-2] % multiple:
            raise ZooError(f"NanoSDTinyVAE.{what}: height and width must be multiples of {multiple}, got {list(x.shape[-2:])}")

    def _memory_bounded(self, fn, x: torch.Tensor, scale: float) -> torch.Tensor:
        """``fn(x)``, one sample at a time with slicing on, in tiles with tiling on (input larger
        than a tile: ``tile_sample_min_size`` pixels, i.e. that over the downscale in latents)."""
        if self.use_slicing and x.shape[0] > 1:
            return torch.cat([self._memory_bounded(fn, s, scale) for s in x.split(1)])
        tile = self.tile_sample_min_size if scale < 1 else max(1, self.tile_sample_min_size // self.downscale)
        if self.use_tiling and max(x.shape[-2:]) > tile:
            return self._tiled(fn, x, tile=tile, overlap=int(tile * self.tile_overlap_factor), scale=scale)
        return fn(x)

    def encode(self, x: torch.Tensor, return_dict: bool = True):
        self._check(x, "encode", self.config.in_channels, self.downscale)
        posterior = DiagonalGaussianDistribution(self._memory_bounded(self.encoder, x, 1 / self.downscale))
        return AutoencoderKLOutput(latent_dist=posterior) if return_dict else (posterior,)

    def decode(self, z: torch.Tensor, return_dict: bool = True, generator: Optional[torch.Generator] = None):
        self._check(z, "decode", self.config.latent_channels, 1)
        img = self._memory_bounded(self.decoder, z, self.downscale)
        return DecoderOutput(sample=img) if return_dict else (img,)

    def decode_with_features(self, z: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Image and the per-level decoder features (latent resolution first) for feature matching."""
        self._check(z, "decode", self.config.latent_channels, 1)
        return self.decoder(z, return_features=True)

    def forward(self, sample: torch.Tensor, sample_posterior: bool = False, return_dict: bool = True,
                generator: Optional[torch.Generator] = None):
        posterior = self.encode(sample).latent_dist
        z = posterior.sample(generator=generator) if sample_posterior else posterior.mode()
        return self.decode(z, return_dict=return_dict)
