"""Losses that distil SD1.5's KL-VAE into NanoSD's tiny VAE.

Encoder [paper]: ``||mu_t - mu_s||^2 + ||sigma_t - sigma_s||^2`` on the posteriors of the same
image (means over elements, i.e. MSE).

Decoder [choice; the paper says "feature matching" without details]: the teacher decoder's
features are taken where each of its up blocks has run its ResNets, before the upsampler
(f/8, f/4, f/2 and f/1 of the image: 512, 512, 256, 128 channels for SD1.5), and matched to
the student's features at the same resolutions through learned 1x1 projections (train-time
only: they are not part of the deployed decoder). Each level's MSE is divided by the
teacher feature's mean square so that levels of different magnitude weigh alike; an image
MSE against the teacher's decoded image is added (``pixel_weight``). Both decoders read the
same latent (the student keeps SD1.5's latent space and scaling factor).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from zoo import ZooError


def encoder_posterior_loss(teacher_dist, student_dist) -> torch.Tensor:
    """``mse(mu_t, mu_s) + mse(sigma_t, sigma_s)`` for two DiagonalGaussianDistributions."""
    if teacher_dist.mean.shape != student_dist.mean.shape:
        raise ZooError(f"posterior shapes differ: teacher {list(teacher_dist.mean.shape)}, student {list(student_dist.mean.shape)}")
    return F.mse_loss(student_dist.mean, teacher_dist.mean.detach()) + F.mse_loss(student_dist.std, teacher_dist.std.detach())


def teacher_decoder_features(vae: nn.Module, z: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Decode ``z`` with an AutoencoderKL; return the image and its per-up-block features
    (after the block's ResNets, before its upsampler), latent resolution first."""
    blocks = list(vae.decoder.up_blocks)
    feats: dict[int, torch.Tensor] = {}
    handles = []
    for i, block in enumerate(blocks):
        if block.upsamplers is not None:
            handles.append(block.upsamplers[0].register_forward_pre_hook(lambda m, args, i=i: feats.__setitem__(i, args[0])))
        else:
            handles.append(block.register_forward_hook(lambda m, args, out, i=i: feats.__setitem__(i, out)))
    try:
        img = vae.decode(z, return_dict=False)[0]
    finally:
        for h in handles:
            h.remove()
    return img, [feats[i] for i in range(len(blocks))]


class DecoderFeatureLoss(nn.Module):
    """Feature-matching loss for the student decoder (see the module docstring).

    ``student_channels`` / ``teacher_channels``: per level, latent resolution first (SD1.5 and
    the full-size tiny VAE: ``[64]*4`` and ``[512, 512, 256, 128]``).
    """

    def __init__(self, student_channels: Sequence[int], teacher_channels: Sequence[int], pixel_weight: float = 1.0,
                 feature_weight: float = 1.0, eps: float = 1e-6) -> None:
        super().__init__()
        if len(student_channels) != len(teacher_channels):
            raise ZooError(f"student has {len(student_channels)} decoder levels, teacher {len(teacher_channels)}")
        self.proj = nn.ModuleList(nn.Conv2d(s, t, kernel_size=1) for s, t in zip(student_channels, teacher_channels))
        self.pixel_weight, self.feature_weight, self.eps = pixel_weight, feature_weight, eps

    @classmethod
    def for_models(cls, student_vae: nn.Module, teacher_vae: nn.Module, **kw) -> "DecoderFeatureLoss":
        s = list(student_vae.config.block_out_channels)[::-1]
        t = list(teacher_vae.config.block_out_channels)[::-1]
        return cls(s, t, **kw)

    def forward(self, student_img: torch.Tensor, student_feats: Sequence[torch.Tensor], teacher_img: torch.Tensor,
                teacher_feats: Sequence[torch.Tensor]) -> torch.Tensor:
        if len(student_feats) != len(self.proj) or len(teacher_feats) != len(self.proj):
            raise ZooError(f"expected {len(self.proj)} feature maps each, got {len(student_feats)} and {len(teacher_feats)}")
        loss = self.pixel_weight * F.mse_loss(student_img, teacher_img.detach())
        for proj, fs, ft in zip(self.proj, student_feats, teacher_feats):
            if fs.shape[-2:] != ft.shape[-2:]:
                raise ZooError(f"feature resolutions differ: student {list(fs.shape)}, teacher {list(ft.shape)}")
            ft = ft.detach()
            loss = loss + self.feature_weight * F.mse_loss(proj(fs), ft) / (ft.pow(2).mean() + self.eps)
        return loss
