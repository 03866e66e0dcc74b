"""PixArtSigmaPipeline for the miniature latent size.

The stock pipeline bins the requested resolution into PixArt's full-size aspect-ratio tables
(sample sizes 32..256 only) by default; the 8x8-latent miniature samples at its own size, so
binning defaults to off. Everything else is the stock pipeline.
"""
from __future__ import annotations

from diffusers import PixArtSigmaPipeline


class MiniPixArtPipeline(PixArtSigmaPipeline):
    def __call__(self, *args, use_resolution_binning: bool = False, max_sequence_length: int = 8,
                 clean_caption: bool = False, **kwargs):
        return super().__call__(*args, use_resolution_binning=use_resolution_binning,
                                max_sequence_length=max_sequence_length, clean_caption=clean_caption, **kwargs)
