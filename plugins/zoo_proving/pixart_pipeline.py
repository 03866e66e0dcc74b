"""PixArtSigmaPipeline for the miniature latent size.

The stock pipeline bins the requested resolution into PixArt's full-size aspect-ratio tables
(sample sizes 32..256 only) by default; the 8x8-latent miniature samples at its own size, so
binning defaults to off. Its prompts are at most five words: the T5 sequence defaults to 8 tokens
(not 300; padding is masked, so only speed changes), and captions are not cleaned (the digits
vocabulary needs no cleaning, and cleaning needs bs4/ftfy). Everything else is the stock pipeline.
"""
from __future__ import annotations

import inspect

from diffusers import PixArtSigmaPipeline

DEFAULTS = {"use_resolution_binning": False, "max_sequence_length": 8, "clean_caption": False}


class MiniPixArtPipeline(PixArtSigmaPipeline):
    def __call__(self, *args, **kwargs):
        for name, value in DEFAULTS.items():
            kwargs.setdefault(name, value)
        return super().__call__(*args, **kwargs)


# The stock signature with the new defaults, so callers and the demos see every argument.
_stock = inspect.signature(PixArtSigmaPipeline.__call__)
MiniPixArtPipeline.__call__.__signature__ = _stock.replace(parameters=[
    p.replace(default=DEFAULTS[p.name]) if p.name in DEFAULTS else p for p in _stock.parameters.values()])
