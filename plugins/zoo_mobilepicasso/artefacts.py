"""Artefact-localisation networks for the hallucination-aware loss: the plug-in contract and a stand-in.

The paper's M (a frozen network mapping an image to a per-pixel artefact map) is not published.
The train config names one as ``artefact_net: "module:attr"``; ``attr`` is an ``nn.Module`` class
(built with no arguments) or a callable. It takes images NCHW in [-1, 1] and returns a map
(N, 1, H, W) in [0, 1]; it is frozen during training.

``HighFrequencyArtefacts`` is a non-learned stand-in (local Laplacian energy through a sigmoid):
it marks ringing / noise-like texture, not semantic hallucinations. It exists so the option runs
end to end; it is not the paper's network.
"""
from __future__ import annotations

import importlib
from typing import Any

import torch

from zoo import ZooError


class HighFrequencyArtefacts(torch.nn.Module):
    def __init__(self, threshold: float = 0.1, sharpness: float = 20.0) -> None:
        super().__init__()
        lap = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
        self.register_buffer("kernel", lap.expand(3, 1, 3, 3).clone())
        self.threshold, self.sharpness = threshold, sharpness

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = torch.nn.functional.pad(images.float(), (1, 1, 1, 1), mode="replicate")
        energy = torch.nn.functional.conv2d(x, self.kernel.to(x), groups=3).abs().mean(1, keepdim=True)
        return torch.sigmoid(self.sharpness * (energy - self.threshold))


def load_artefact_net(ref: str) -> Any:
    """The frozen artefact-localisation network named ``module:attr``, or a one-line ZooError."""
    mod_name, _, attr = ref.partition(":")
    if not mod_name or not attr:
        raise ZooError(f"artefact_net must be 'module:attr' (e.g. 'zoo_mobilepicasso.artefacts:HighFrequencyArtefacts'), "
                       f"got {ref!r}")
    try:
        obj = getattr(importlib.import_module(mod_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ZooError(f"cannot load artefact_net {ref!r}: {exc}") from None
    net = obj() if isinstance(obj, type) else obj
    if isinstance(net, torch.nn.Module):
        net.eval().requires_grad_(False)
    return net


def artefact_ratios(net: Any, images: torch.Tensor, threshold: float = 0.5, batch: int = 32) -> torch.Tensor:
    """Per image, the fraction of pixels the network marks as artefacts (map > threshold)."""
    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            out.append((net(images[i:i + batch]) > threshold).float().flatten(1).mean(1))
    return torch.cat(out)


def filter_pairs(ratios: torch.Tensor, fraction: float) -> torch.Tensor:
    """Indices of the pairs kept after dropping the top ``fraction`` by artefact ratio (the paper: 15%)."""
    n = len(ratios)
    drop = int(round(n * fraction))
    order = torch.argsort(ratios, stable=True)  # ascending: the most artefact-laden last
    return torch.sort(order[: n - drop]).values
